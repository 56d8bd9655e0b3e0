// usage.js: the user's usage records (filters, newest first, paged by cursor), the totals of
// /user/usage/summary, CSV export of the same filter, and the bill per model (/user/bill).
import { api, MOUNT, ApiError } from '../api.js';
import { h, usd, when, table, field, errorBox } from '../ui.js';

const DAY = 86400000;
const isoDay = (t) => new Date(t).toISOString().slice(0, 10);

// The API's `to` is exclusive; the form's To is the last day shown, so the query asks for
// the day after it. Dates are UTC, as the API reads them.
const dayAfter = (d) => isoDay(Date.parse(`${d}T00:00:00Z`) + DAY);

// The query string shared by the list, the summary, the bill and the CSV link.
export function usageQuery(f, extra = {}) {
  const p = new URLSearchParams();
  if (f.from) p.set('from', f.from);
  if (f.to) p.set('to', dayAfter(f.to));
  if (f.key) p.set('key_id', f.key);
  if (f.model) p.set('model', f.model);
  if (f.status) p.set('status', f.status);
  for (const [k, v] of Object.entries(extra)) if (v !== undefined && v !== null && v !== '') p.set(k, v);
  const s = p.toString();
  return s ? `?${s}` : '';
}

const select = (options) => h('select', null, options.map(([value, label]) => h('option', { value, text: label })));

// A request in flight (status pending) has no tokens, cost or latency yet.
const count = (v) => (v === undefined || v === null ? '—' : String(v));
const statusText = (r) => {
  if (r.status === 'ok' || r.status === 'pending') return r.status;
  return r.http_status ? `${r.status} (${r.http_status})` : r.status;
};

function usageTable(rows, keyName) {
  return table({
    caption: 'Requests, newest first',
    empty: 'No request matches these filters.',
    rows,
    columns: [
      { label: 'Time', get: (r) => when(r.created_at) },
      { label: 'Key', get: (r) => (r.key_id ? keyName(r.key_id) : 'dashboard session') },
      { label: 'Model', get: (r) => r.model },
      { label: 'Provider', get: (r) => r.provider },
      { label: 'Tokens in', get: (r) => count(r.prompt_tokens), num: true },
      { label: 'Tokens out', get: (r) => count(r.completion_tokens), num: true },
      { label: 'Cost', get: (r) => usd(r.cost), num: true },
      { label: 'Status', get: statusText },
      { label: 'Latency', get: (r) => (r.latency_ms === undefined || r.latency_ms === null ? '—' : `${r.latency_ms} ms`), num: true },
    ],
  });
}

function totalsView(s) {
  const t = s.totals || {};
  const item = (k, v) => h('div', { class: 'stat' }, h('dt', { text: k }), h('dd', { text: v }));
  return h(
    'dl',
    { class: 'stats totals' },
    item('Requests', String(t.requests ?? 0)),
    item('Refused', String(t.refused ?? 0)),
    item('Tokens in', String(t.prompt_tokens ?? 0)),
    item('Tokens out', String(t.completion_tokens ?? 0)),
    item('Base cost', usd(t.base_cost ?? '0.00')),
    item('Commission', usd(t.commission ?? '0.00')),
    item('Cost', usd(t.cost ?? '0.00')),
  );
}

function billTable(b) {
  const rows = b.data || [];
  const tot = b.total || {};
  const all = rows.length
    ? [...rows, { model: 'Total', requests: rows.reduce((n, r) => n + r.requests, 0), base_cost: tot.base_cost, commission: tot.commission, charge: tot.charge }]
    : rows;
  return table({
    caption: 'Bill per model: base price, commission and final price',
    empty: 'Nothing billed in this period.',
    rows: all,
    columns: [
      { label: 'Model', get: (r) => r.model },
      { label: 'Requests', get: (r) => String(r.requests), num: true },
      { label: 'Base price', get: (r) => usd(r.base_cost), num: true },
      { label: 'Commission', get: (r) => usd(r.commission), num: true },
      { label: 'Final', get: (r) => usd(r.charge), num: true },
    ],
  });
}

// A 404 is a gateway without that endpoint yet (an older tollgate): said plainly.
function failure(e, what) {
  if (e instanceof ApiError && e.status === 404) {
    return h('p', { class: 'muted', text: `${what}: not available on this gateway.` });
  }
  return errorBox(e, `${what} could not be loaded`);
}

const orEmpty = (p) => p.then((r) => r.data || []).catch(() => []);

export default {
  id: 'usage',
  title: 'Usage',
  admin: false,
  async render(root) {
    root.append(h('h1', { text: 'Usage' }));
    const [keys, models] = await Promise.all([orEmpty(api('GET', '/user/api-keys')), orEmpty(api('GET', '/models'))]);
    const names = new Map(keys.map((k) => [k.id, k.name ? `${k.name} (…${k.last4})` : `…${k.last4}`]));
    const keyName = (id) => names.get(id) || id;

    const from = h('input', { type: 'date', value: isoDay(Date.now() - 29 * DAY) });
    const to = h('input', { type: 'date', value: isoDay(Date.now()) });
    const key = select([['', 'All keys'], ...keys.map((k) => [k.id, keyName(k.id)])]);
    const model = select([['', 'All models'], ...models.map((m) => [m.id, m.id])]);
    const status = select([['', 'Any'], ['ok', 'ok'], ['error', 'error'], ['client_gone', 'client_gone'], ['refused', 'refused (429, 402)'], ['pending', 'pending (in flight)']]);
    const csv = h('a', { class: 'btn', text: 'Export CSV', attrs: { download: 'tollgate-usage.csv' } });
    const form = h(
      'form',
      { class: 'card filters', attrs: { 'aria-label': 'Usage filters' } },
      h('div', { class: 'filter-fields' }, field('From', from), field('To', to, 'UTC; included'), field('Key', key), field('Model', model), field('Status', status)),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn primary', text: 'Apply' }), csv),
    );
    root.append(form);

    const section = (id, title) => h('section', { attrs: { 'aria-labelledby': id } }, h('h2', { id, text: title }));
    const totals = section('usage-totals', 'Totals');
    const list = section('usage-list', 'Requests');
    const bill = section('usage-bill', 'Bill');
    const listBody = h('div');
    const newest = h('button', { type: 'button', class: 'btn', text: 'Newest', disabled: true });
    const next = h('button', { type: 'button', class: 'btn', text: 'Next page', disabled: true });
    list.append(listBody, h('div', { class: 'pager' }, newest, next));
    root.append(totals, list, bill);

    let f = {};
    let cursor = null;
    const page = async (c) => {
      next.disabled = true;
      try {
        const r = await api('GET', `/user/usage${usageQuery(f, { limit: 50, cursor: c })}`);
        listBody.replaceChildren(usageTable(r.data || [], keyName));
        cursor = r.next_cursor || null;
        next.disabled = !cursor;
        newest.disabled = !c;
      } catch (e) {
        listBody.replaceChildren(failure(e, 'Usage'));
      }
    };
    const side = async (sec, path, view, what) => {
      const head = sec.firstChild;
      try {
        sec.replaceChildren(head, view(await api('GET', path)));
      } catch (e) {
        sec.replaceChildren(head, failure(e, what));
      }
    };
    const apply = () => {
      f = { from: from.value, to: to.value, key: key.value, model: model.value, status: status.value };
      csv.href = `${MOUNT}/user/usage${usageQuery(f, { format: 'csv' })}`;
      return Promise.all([
        page(null),
        side(totals, `/user/usage/summary${usageQuery(f)}`, totalsView, 'Totals'),
        side(bill, `/user/bill${usageQuery({ from: f.from, to: f.to })}`, billTable, 'The bill'),
      ]);
    };
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      apply();
    });
    next.addEventListener('click', () => cursor && page(cursor));
    newest.addEventListener('click', () => page(null));
    await apply();
  },
};
