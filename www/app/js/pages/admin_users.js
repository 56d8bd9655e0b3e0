// admin_users.js: the admin's Users page: search, suspend/activate, role, group,
// commission, add credits with a note, rate limits
// SPDX-License-Identifier: MIT
import {api, ApiError} from '../api.js';
import {errText, refused} from './admin_common.js';
import {h, table, dialog, confirm, toast, field, when} from '../ui.js';

const PAGE = 50;
// The seven limits of POST /admin/limit, in the order the dialog shows them.
const LIMITS = [
  ['requests_per_minute', 'Requests per minute'], ['requests_per_hour', 'Requests per hour'],
  ['requests_per_day', 'Requests per day'], ['tokens_per_minute', 'Tokens per minute'],
  ['tokens_per_hour', 'Tokens per hour'], ['tokens_per_day', 'Tokens per day'],
  ['max_concurrent', 'Concurrent requests'],
];

function input(attrs) {
  return h('input', {attrs: Object.assign({type: 'text', autocomplete: 'off'}, attrs)});
}


async function addCredits(u, reload) {
  const amount = input({inputmode: 'decimal', required: true, placeholder: '10.00'});
  const note = input({maxlength: 200});
  const body = h('div', {}, field('Amount (USD)', amount, 'Negative to take credit back (a note is then required).'),
    field('Note', note));
  const ok = await dialog({title: 'Add credits to ' + u.email, body, actions: [
    {label: 'Cancel', value: false}, {label: 'Add', value: true, primary: true}]});
  if (!ok) return;
  try {
    const req = {user_id: u.id, amount_usd: amount.value.trim()};
    if (note.value.trim()) req.note = note.value.trim();
    const r = await api('POST', '/admin/add_credits', req);
    toast('Added ' + r.amount + ' USD to ' + u.email + '; balance ' + r.balance + ' USD', 'ok');
    reload();
  } catch (e) {
    toast('Credits not added: ' + errText(e), 'error');
  }
}

async function editUser(u, reload) {
  const role = h('select', {}, ['user', 'admin'].map((r) => h('option', {text: r, attrs: {value: r}})));
  role.value = u.role;
  const group = input({value: u.group || ''});
  const commission = input({inputmode: 'decimal', placeholder: 'default',
    value: u.commission_percent === null || u.commission_percent === undefined ? '' : String(u.commission_percent)});
  const body = h('div', {}, field('Role', role), field('Group', group),
    field('Commission (%)', commission, 'Empty: the group\'s or the gateway\'s default.'));
  const ok = await dialog({title: 'Edit ' + u.email, body, actions: [
    {label: 'Cancel', value: false}, {label: 'Save', value: true, primary: true}]});
  if (!ok) return;
  const c = commission.value.trim();
  const req = {role: role.value, group: group.value.trim()};
  req.commission_percent = c === '' ? null : Number(c);
  if (c !== '' && !Number.isFinite(req.commission_percent)) {
    toast('Commission must be a number', 'error');
    return;
  }
  try {
    await api('PUT', '/admin/users/' + encodeURIComponent(u.id), req);
    toast('Saved ' + u.email, 'ok');
    reload();
  } catch (e) {
    toast('Not saved: ' + errText(e), 'error');
  }
}

async function setStatus(u, reload) {
  const to = u.status === 'active' ? 'suspended' : 'active';
  const verb = to === 'active' ? 'Activate' : 'Suspend';
  if (!(await confirm(verb + ' ' + u.email + '?'))) return;
  try {
    await api('PUT', '/admin/users/' + encodeURIComponent(u.id), {status: to});
    toast(u.email + ' is ' + to, 'ok');
    reload();
  } catch (e) {
    toast(verb + ' failed: ' + errText(e), 'error');
  }
}

async function limits(u) {
  let cur = {};
  try {
    cur = (await api('GET', '/admin/limit?user_id=' + encodeURIComponent(u.id))).rate_limits || {};
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 404)) {
      toast('Limits not loaded: ' + errText(e), 'error');
      return;
    }
  }
  const inputs = {};
  const body = h('div', {}, h('p', {text: 'Empty means unlimited.'}),
    LIMITS.map(([k, label]) => {
      inputs[k] = input({inputmode: 'numeric', value: cur[k] === null || cur[k] === undefined ? '' : String(cur[k])});
      return field(label, inputs[k]);
    }));
  const ok = await dialog({title: 'Rate limits of ' + u.email, body, actions: [
    {label: 'Cancel', value: false}, {label: 'Save limits', value: true, primary: true}]});
  if (!ok) return;
  const rate = {};
  for (const [k] of LIMITS) {
    const v = inputs[k].value.trim();
    if (v === '') continue;
    if (!/^\d+$/.test(v)) {
      toast('Limits are whole numbers', 'error');
      return;
    }
    rate[k] = Number(v);
  }
  try {
    await api('POST', '/admin/limit', {user_id: u.id, rate_limits: rate});
    toast('Limits saved for ' + u.email, 'ok');
  } catch (e) {
    toast('Limits not saved: ' + errText(e), 'error');
  }
}

function actions(u, reload) {
  const btn = (label, fn) => h('button', {class: 'btn small', text: label, attrs: {type: 'button'}, on: {click: fn}});
  return h('div', {class: 'row-actions'},
    btn('Add credits', () => addCredits(u, reload)),
    btn(u.status === 'active' ? 'Suspend' : 'Activate', () => setStatus(u, reload)),
    btn('Edit', () => editUser(u, reload)),
    btn('Limits', () => limits(u)));
}

export default {
  id: 'admin-users',
  title: 'Users',
  admin: true,
  async render(root, ctx) {
    if (refused(root, ctx, 'Users')) return;
    const state = {q: '', offset: 0};
    const search = input({type: 'search', name: 'q'});
    const form = h('form', {class: 'toolbar filters', attrs: {role: 'search'}}, field('Search', search),
      h('button', {class: 'btn primary', text: 'Search', attrs: {type: 'submit'}}));
    const list = h('div', {class: 'list'});
    const nav = h('div', {class: 'pager'});
    root.append(h('h1', {text: 'Users'}), form, list, nav);

    async function load() {
      let r;
      try {
        const qs = new URLSearchParams({limit: String(PAGE), offset: String(state.offset)});
        if (state.q) qs.set('q', state.q);
        r = await api('GET', '/admin/users?' + qs);
      } catch (e) {
        list.replaceChildren(h('p', {class: 'error', attrs: {role: 'alert'}, text: 'Users not loaded: ' + errText(e)}));
        return;
      }
      list.replaceChildren(table({
        caption: r.total + ' users' + (state.q ? ' matching "' + state.q + '"' : ''),
        empty: 'No user matches.',
        rows: r.data,
        columns: [
          {label: 'Email', get: (u) => u.email},
          {label: 'Name', get: (u) => u.name || ''},
          {label: 'Role', get: (u) => u.role},
          {label: 'Status', get: (u) => h('span', {class: 'badge ' + (u.status === 'active' ? 'ok' : 'off'), text: u.status})},
          {label: 'Group', get: (u) => u.group || ''},
          {label: 'Commission %', num: true, get: (u) => (u.commission_percent === null || u.commission_percent === undefined ? 'default' : String(u.commission_percent))},
          {label: 'Created', get: (u) => (u.created_at ? when(u.created_at) : '')},
          {label: 'Actions', get: (u) => actions(u, load)},
        ],
      }));
      const prev = h('button', {class: 'btn', text: 'Previous page', attrs: {type: 'button'}});
      const next = h('button', {class: 'btn', text: 'Next page', attrs: {type: 'button'}});
      prev.disabled = state.offset === 0;
      next.disabled = state.offset + PAGE >= r.total;
      prev.addEventListener('click', () => { state.offset = Math.max(0, state.offset - PAGE); load(); });
      next.addEventListener('click', () => { state.offset += PAGE; load(); });
      nav.replaceChildren(prev,
        h('span', {text: r.total ? (state.offset + 1) + '–' + Math.min(state.offset + PAGE, r.total) + ' of ' + r.total : ''}),
        next);
    }

    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      state.q = search.value.trim();
      state.offset = 0;
      load();
    });
    await load();
  },
};
