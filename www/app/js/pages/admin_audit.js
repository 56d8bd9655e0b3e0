// admin_audit.js: the admin's Audit log page: filters, paging, chain verification
// SPDX-License-Identifier: MIT
import {api} from '../api.js';
import {errText, refused} from './admin_common.js';
import {h, table, field, when} from '../ui.js';

const PAGE = 50;


function changes(row) {
  if (row.before === null && row.after === null) return '';
  return h('details', {}, h('summary', {text: 'Before / after'}),
    h('pre', {}, h('code', {text: JSON.stringify({before: row.before, after: row.after}, null, 2)})));
}

function text(label, name, type) {
  const el = h('input', {attrs: {type: type || 'text', name, autocomplete: 'off'}});
  return [field(label, el), el];
}

export default {
  id: 'admin-audit',
  title: 'Audit log',
  admin: true,
  async render(root, ctx) {
    if (refused(root, ctx, 'Audit log')) return;
    const state = {offset: 0, filters: {}};
    const [fAction, action] = text('Action', 'action');
    const [fActor, actor] = text('Actor', 'actor');
    const [fTarget, target] = text('Target', 'target');
    const [fFrom, from] = text('From', 'from', 'date');
    const [fTo, to] = text('To', 'to', 'date');
    const form = h('form', {class: 'toolbar filters'}, fAction, fActor, fTarget, fFrom, fTo,
      h('button', {class: 'btn primary', text: 'Apply', attrs: {type: 'submit'}}));
    const verdict = h('p', {class: 'verdict', attrs: {role: 'status'}});
    const verify = h('button', {class: 'btn', text: 'Verify chain', attrs: {type: 'button'}});
    const list = h('div', {class: 'list'});
    const nav = h('div', {class: 'pager'});
    root.append(h('h1', {text: 'Audit log'}),
      h('div', {class: 'row-actions'}, verify), verdict, form, list, nav);

    verify.addEventListener('click', async () => {
      verify.disabled = true;
      verdict.className = 'verdict';
      verdict.textContent = 'Verifying the hash chain…';
      try {
        const r = await api('GET', '/admin/audit/verify');
        if (r.ok) {
          verdict.classList.add('ok');
          verdict.textContent = 'Audit chain ok: ' + r.rows + ' rows verified.';
        } else {
          verdict.classList.add('error');
          verdict.textContent = 'Audit chain broken at row ' + r.broken_at + ' (' + r.rows + ' rows checked): ' + (r.reason || 'hash mismatch');
        }
      } catch (e) {
        verdict.classList.add('error');
        verdict.textContent = 'Verification failed: ' + errText(e);
      } finally {
        verify.disabled = false;
      }
    });

    async function load() {
      const qs = new URLSearchParams({limit: String(PAGE), offset: String(state.offset)});
      for (const [k, v] of Object.entries(state.filters)) if (v) qs.set(k, v);
      let r;
      try {
        r = await api('GET', '/admin/audit?' + qs);
      } catch (e) {
        list.replaceChildren(h('p', {class: 'error', attrs: {role: 'alert'}, text: 'Audit log not loaded: ' + errText(e)}));
        nav.replaceChildren();
        return;
      }
      list.replaceChildren(table({
        caption: r.total + ' audit rows, newest first',
        empty: 'No audit row matches.',
        rows: r.data,
        columns: [
          {label: 'ID', num: true, get: (a) => String(a.id)},
          {label: 'At', get: (a) => (a.at ? when(a.at) : '')},
          {label: 'Action', get: (a) => h('code', {text: a.action || ''})},
          {label: 'Actor', get: (a) => [a.actor_user_id, a.actor_key_id].filter(Boolean).join(' / ') || 'system'},
          {label: 'Target', get: (a) => [a.target_type, a.target_id].filter(Boolean).join(' ')},
          {label: 'IP', get: (a) => a.ip || ''},
          {label: 'Changes', get: changes},
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
      state.filters = {
        action: action.value.trim(), actor: actor.value.trim(), target: target.value.trim(),
        // Whole UTC days: From at its first second, To through its last.
        from: from.value ? from.value + 'T00:00:00Z' : '',
        to: to.value ? to.value + 'T23:59:59Z' : '',
      };
      state.offset = 0;
      load();
    });
    await load();
  },
};
