// models.js: the public model catalogue (GET /models) with prices per million tokens, a
// search box and sortable columns (a button in each header, aria-sort on the <th>).
import { api } from '../api.js';
import { h, usd, field, errorBox } from '../ui.js';

// The catalogue gives USD per token as a decimal string ("0.000001"); a million tokens cost
// that with the point moved six places right. Done on the digits, never through a float, so
// the page shows exactly the price the gateway charges.
export function perMillion(s) {
  if (typeof s !== 'string' || !/^\d+(\.\d+)?$/.test(s)) return null;
  const [ip, fp = ''] = s.split('.');
  const frac = fp.padEnd(6, '0');
  const whole = (ip + frac.slice(0, 6)).replace(/^0+(?=\d)/, '');
  const rest = frac.slice(6).replace(/0+$/, '');
  return whole + (rest ? `.${rest}` : '');
}

// Prices below a cent per million keep their digits (usd() would round them to 2 places
// only from a cent up).
const price = (s) => (perMillion(s) == null ? '—' : usd(perMillion(s)));
// A decimal string as a number, for ordering rows only (never shown).
const order = (s) => (s == null ? -1 : Number(s));

const COLUMNS = [
  { key: 'id', label: 'Model', get: (m) => m.id, sort: (m) => m.id },
  { key: 'name', label: 'Name', get: (m) => m.name, sort: (m) => m.name || '' },
  { key: 'vendor', label: 'Vendor', get: (m) => m.owned_by, sort: (m) => m.owned_by || '' },
  { key: 'input', label: 'Input', num: true, get: (m) => price(m.pricing?.prompt), sort: (m) => order(m.pricing?.prompt) },
  { key: 'output', label: 'Output', num: true, get: (m) => price(m.pricing?.completion), sort: (m) => order(m.pricing?.completion) },
  {
    key: 'cached',
    label: 'Cached input',
    num: true,
    get: (m) => price(m.pricing?.input_cache_read),
    sort: (m) => order(m.pricing?.input_cache_read),
  },
  {
    key: 'context',
    label: 'Context',
    num: true,
    get: (m) => (m.context_length ? m.context_length.toLocaleString('en-US') : '—'),
    sort: (m) => m.context_length || 0,
  },
  {
    key: 'providers',
    label: 'Providers',
    get: (m) => (m.providers || []).join(', ') || '—',
    sort: (m) => (m.providers || []).join(' '),
  },
];

function matches(m, q) {
  if (!q) return true;
  const hay = [m.id, m.name, m.owned_by, ...(m.aliases || []), ...(m.providers || [])].join(' ').toLowerCase();
  return q.toLowerCase().split(/\s+/).filter(Boolean).every((w) => hay.includes(w));
}

function draw(wrap, models, state) {
  const col = COLUMNS.find((c) => c.key === state.sort) || COLUMNS[0];
  const dir = state.dir === 'descending' ? -1 : 1;
  const rows = models
    .filter((m) => matches(m, state.q))
    .sort((a, b) => {
      const x = col.sort(a);
      const y = col.sort(b);
      const c = typeof x === 'string' ? x.localeCompare(y) : x - y;
      return c * dir || a.id.localeCompare(b.id);
    });
  const head = COLUMNS.map((c) => {
    const sorted = c.key === col.key;
    return h(
      'th',
      { class: c.num ? 'num' : null, attrs: { scope: 'col', 'aria-sort': sorted ? state.dir : 'none', 'data-key': c.key } },
      h('button', {
        type: 'button',
        class: 'sort',
        on: {
          click: () => {
            state.dir = sorted && state.dir === 'ascending' ? 'descending' : 'ascending';
            state.sort = c.key;
            draw(wrap, models, state);
            wrap.querySelector(`th[data-key="${c.key}"] button`)?.focus();
          },
        },
      // The arrow is decoration: aria-sort says the order, the name stays the label.
      }, c.label, h('span', { class: 'arrow', attrs: { 'aria-hidden': 'true' } })),
    );
  });
  const body = rows.map((m) =>
    h('tr', null, COLUMNS.map((c) => h('td', { class: c.num ? 'num' : null, text: String(c.get(m) ?? '—') || '—' }))),
  );
  const caption = `${rows.length} of ${models.length} models; prices in USD per million tokens`;
  const table = h('table', { class: 'models' }, h('caption', { text: caption }), h('thead', null, h('tr', null, head)), h('tbody', null, body));
  wrap.replaceChildren(h('div', { class: 'scroll', attrs: { role: 'region', tabindex: '0', 'aria-label': 'Models' } }, table));
  if (rows.length === 0) wrap.append(h('p', { class: 'empty', text: 'No model matches the search.' }));
}

// The providers serving the catalogue (GET /models/providers), listed once above the table
// with their model counts; each row names its own (the catalogue's `providers`).
async function providerNames() {
  try {
    return ((await api('GET', '/models/providers')).data || []).filter((p) => p.enabled);
  } catch (_) {
    return [];
  }
}

export default {
  id: 'models',
  title: 'Models',
  admin: false,
  async render(root) {
    root.append(h('h1', { text: 'Models' }));
    const search = h('input', { type: 'search', attrs: { autocomplete: 'off' } });
    root.append(h('div', { class: 'toolbar filters' }, field('Search', search, 'Model id, name, vendor, alias or provider')));
    const wrap = h('div', { attrs: { 'aria-live': 'polite' } });
    root.append(wrap);
    let models;
    let provs;
    try {
      [models, provs] = await Promise.all([api('GET', '/models').then((r) => r.data || []), providerNames()]);
    } catch (e) {
      wrap.append(errorBox(e, 'The catalogue could not be loaded'));
      return;
    }
    if (provs.length) {
      const list = provs.map((p) => `${p.name || p.id} (${p.models} ${p.models === 1 ? 'model' : 'models'})`);
      root.insertBefore(h('p', { class: 'providers', text: `Providers: ${list.join(', ')}` }), wrap);
    }
    const state = { q: '', sort: 'id', dir: 'ascending' };
    search.addEventListener('input', () => {
      state.q = search.value.trim();
      draw(wrap, models, state);
    });
    draw(wrap, models, state);
  },
};
