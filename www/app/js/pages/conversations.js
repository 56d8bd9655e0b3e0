// conversations.js (issue 18: convlog): the caller's conversation logs (GET
// /user/conversations, newest first, paged by cursor), one conversation's request and
// answer (GET /user/conversations/{id}), its deletion, and the user's own level (PUT
// /user/profile {conversation_log}). Bodies are shown with textContent only (h's text).
import { api, ApiError } from '../api.js';
import { h, usd, when, table, errorBox, confirm, toast, field, busy, errorText } from '../ui.js';

const LEVELS = [
  ['off', 'Off: keep nothing'],
  ['metadata', 'Metadata: model, times, tokens, cost, status'],
  ['full', 'Full: also the request and the answer (sealed)'],
];

function failure(e, what) {
  if (e instanceof ApiError && e.status === 404) {
    return h('p', { class: 'muted', text: `${what}: not available on this gateway.` });
  }
  return errorBox(e, `${what} could not be loaded`);
}

// The user's own choice and what the operator allows: the lower one is kept.
function levelForm(logging, onSaved) {
  const sel = h('select', { attrs: { name: 'conversation_log' } },
    LEVELS.map(([v, label]) => h('option', { attrs: { value: v }, text: label })));
  sel.value = logging.user || 'off';
  const save = h('button', { type: 'submit', class: 'btn primary', text: 'Save' });
  const said = h('p', {
    class: 'hint',
    text: `The gateway keeps at most: ${logging.operator}. In force for you now: ${logging.effective}.`,
  });
  const form = h('form', { class: 'inline' }, field('What of my requests is kept', sel), save, said);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await busy(save, api('PUT', '/user/profile', { conversation_log: sel.value }));
      toast('Saved.', 'ok');
      onSaved();
    } catch (e) {
      toast(`Not saved: ${errorText(e)}`, 'error');
    }
  });
  return form;
}

// One conversation: its metadata, then the request's body and the answer's text.
function detail(c, onBack, onDelete) {
  const item = (k, v) => h('div', { class: 'stat' }, h('dt', { text: k }), h('dd', { text: v }));
  const body = (title, text) => h('section', null, h('h3', { text: title }),
    text == null
      ? h('p', { class: 'muted', text: 'Not kept (metadata only).' })
      : h('pre', { class: 'conv-body', attrs: { tabindex: '0' }, text }));
  const back = h('button', { type: 'button', class: 'btn', text: 'Back to the list', on: { click: onBack } });
  const del = h('button', { type: 'button', class: 'btn danger', text: 'Delete', on: { click: () => onDelete(c.id) } });
  return h('div', { class: 'conv-detail' },
    h('h2', { text: `Request ${c.id}` }),
    h('dl', { class: 'stats' },
      item('Time', when(c.created_at)), item('Model', c.model), item('API', c.api),
      item('Status', `${c.status} (${c.http_status})`),
      item('Tokens', `${c.usage.prompt_tokens} in, ${c.usage.completion_tokens} out`),
      item('Cost', usd(c.cost)), item('Latency', `${c.latency_ms} ms`),
      item('Stream', c.stream ? 'yes' : 'no')),
    c.truncated ? h('p', { class: 'hint', text: 'A body was cut at 64 KiB.' }) : null,
    body('Request', c.request), body('Answer', c.answer),
    h('div', { class: 'actions' }, back, del));
}

export default {
  id: 'conversations',
  title: 'Conversations',
  admin: false,
  async render(root, ctx = {}) {
    root.append(h('h1', { text: 'Conversations' }));
    const settings = h('div');
    const wrap = h('div');
    const newest = h('button', { type: 'button', class: 'btn', text: 'Newest', disabled: true });
    const next = h('button', { type: 'button', class: 'btn', text: 'Next page', disabled: true });
    const list = h('section', { attrs: { 'aria-labelledby': 'conv-list' } },
      h('h2', { id: 'conv-list', text: 'Logged requests' }), wrap, h('div', { class: 'pager' }, newest, next));
    const view = h('div');
    root.append(settings, list, view);

    let cursor = null;
    let shown = null;
    const open = async (id) => {
      try {
        const c = await api('GET', `/user/conversations/${encodeURIComponent(id)}`);
        list.hidden = true;
        view.replaceChildren(detail(c, () => { view.replaceChildren(); list.hidden = false; }, remove));
      } catch (e) {
        view.replaceChildren(failure(e, 'The conversation'));
      }
    };
    const rows = (data) => table({
      caption: 'Logged requests, newest first',
      empty: 'Nothing logged yet.',
      rows: data,
      columns: [
        { label: 'Time', get: (r) => when(r.created_at) },
        { label: 'Model', get: (r) => r.model },
        { label: 'Status', get: (r) => r.status },
        { label: 'Tokens', get: (r) => String(r.usage.total_tokens), num: true },
        { label: 'Cost', get: (r) => usd(r.cost), num: true },
        { label: 'Kept', get: (r) => r.level },
        { label: '', get: (r) => h('button', { type: 'button', class: 'btn', text: 'View', attrs: { 'aria-label': `View request ${r.id}` }, on: { click: () => open(r.id) } }) },
      ],
    });
    const page = async (c) => {
      next.disabled = true;
      const p = new URLSearchParams({ limit: '50' });
      if (c) p.set('cursor', c);
      shown = c;
      try {
        const r = await api('GET', `/user/conversations?${p}`);
        wrap.replaceChildren(rows(r.data || []));
        settings.replaceChildren(levelForm(r.logging || {}, () => page(null)));
        cursor = r.next_cursor || null;
        next.disabled = !cursor;
        newest.disabled = !c;
      } catch (e) {
        wrap.replaceChildren(failure(e, 'The conversations'));
      }
    };
    async function remove(id) {
      if (!(await confirm('Delete this conversation? Its request and answer are gone for good.', { ok: 'Delete' }))) return;
      try {
        await api('DELETE', `/user/conversations/${encodeURIComponent(id)}`);
        toast('Deleted.', 'ok');
        view.replaceChildren();
        list.hidden = false;
        await page(shown);
      } catch (e) {
        toast(`Not deleted: ${errorText(e)}`, 'error');
      }
    }
    next.addEventListener('click', () => cursor && page(cursor));
    newest.addEventListener('click', () => page(null));
    await page(null);
    const id = ctx.params && ctx.params.get('id');
    if (id) await open(id);
  },
};
