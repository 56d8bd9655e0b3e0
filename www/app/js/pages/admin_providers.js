// admin_providers.js: the admin's Providers page: upstream providers and their keys (health,
// circuit, cool-down, use today), enable/disable, add a key
// SPDX-License-Identifier: MIT
import {api} from '../api.js';
import {errText, refused} from './admin_common.js';
import {h, table, dialog, toast, field, when} from '../ui.js';


// health: one word for a key from this node's view (GET /admin/upstream-keys).
function health(k) {
  if (!k.enabled) return ['disabled', 'off'];
  if (k.circuit === 'open') return ['circuit open', 'off'];
  if (k.cooldown_until) return ['cooling down', 'off'];
  if (k.circuit === 'half_open') return ['probing', ''];
  return ['healthy', 'ok'];
}

function btn(label, fn, extra) {
  return h('button', {class: 'btn small', text: label, attrs: Object.assign({type: 'button'}, extra || {}), on: {click: fn}});
}

async function toggle(path, enabled, what, reload) {
  try {
    await api('PUT', path, {enabled});
    toast(what + (enabled ? ' enabled' : ' disabled'), 'ok');
  } catch (e) {
    toast(what + ' unchanged: ' + errText(e), 'error');
  }
  reload();
}

async function addKey(p, reload) {
  const label = h('input', {attrs: {type: 'text', autocomplete: 'off', maxlength: 64}});
  // The secret goes in a password input and is never shown again, here or anywhere.
  const secret = h('input', {attrs: {type: 'password', autocomplete: 'off', required: true}});
  const rpm = h('input', {attrs: {type: 'text', inputmode: 'numeric', autocomplete: 'off'}});
  const rpd = h('input', {attrs: {type: 'text', inputmode: 'numeric', autocomplete: 'off'}});
  const body = h('div', {}, field('Label', label), field('Secret key', secret, 'Stored sealed; not shown again.'),
    field('Requests per minute', rpm, 'Empty: no limit.'), field('Requests per day', rpd, 'Empty: no limit.'));
  const ok = await dialog({title: 'Add a key to ' + (p.name || p.id), body, actions: [
    {label: 'Cancel', value: false}, {label: 'Add key', value: true, primary: true}]});
  const req = {key: secret.value};
  secret.value = '';
  if (!ok) return;
  if (label.value.trim()) req.label = label.value.trim();
  for (const [k, el] of [['requests_per_minute', rpm], ['requests_per_day', rpd]]) {
    const v = el.value.trim();
    if (v === '') continue;
    if (!/^\d+$/.test(v)) {
      toast('Limits are whole numbers', 'error');
      return;
    }
    req[k] = Number(v);
  }
  try {
    const r = await api('POST', '/admin/providers/' + encodeURIComponent(p.id) + '/keys', req);
    toast('Key ' + (r.label || r.id || '') + ' added to ' + p.id, 'ok');
  } catch (e) {
    toast('Key not added: ' + errText(e), 'error');
  }
  reload();
}

function keyTable(p, keys, reload) {
  return table({
    caption: 'Keys of ' + (p.name || p.id),
    empty: 'No key yet.',
    rows: keys,
    columns: [
      {label: 'Label', get: (k) => k.label || k.id},
      {label: 'Key', get: (k) => h('code', {text: '…' + (k.last4 || '')})},
      {label: 'Health', get: (k) => { const [t, c] = health(k); return h('span', {class: 'badge ' + c, text: t}); }},
      {label: 'Circuit', get: (k) => k.circuit + (k.consecutive_failures ? ' (' + k.consecutive_failures + ' failures)' : '')},
      {label: 'Cool-down until', get: (k) => (k.cooldown_until ? when(k.cooldown_until) : '—')},
      {label: 'Use today', num: true, get: (k) => String(k.used_today) +
        (k.limits && k.limits.requests_per_day !== null && k.limits.requests_per_day !== undefined ? ' / ' + k.limits.requests_per_day : '')},
      {label: 'Last used', get: (k) => (k.last_used_at ? when(k.last_used_at) : '—')},
      {label: 'Last error', get: (k) => k.last_error || k.disabled_reason || ''},
      {label: 'Actions', get: (k) => btn(k.enabled ? 'Disable' : 'Enable',
        () => toggle('/admin/providers/' + encodeURIComponent(p.id) + '/keys/' + encodeURIComponent(k.id),
          !k.enabled, 'Key ' + (k.label || k.id), reload))},
    ],
  });
}

export default {
  id: 'admin-providers',
  title: 'Providers',
  admin: true,
  async render(root, ctx) {
    if (refused(root, ctx, 'Providers')) return;
    const body = h('div', {class: 'providers'});
    root.append(h('h1', {text: 'Providers'}),
      h('p', {}, btn('Refresh', () => load())), body);

    async function load() {
      let provs;
      let keys;
      try {
        [provs, keys] = await Promise.all([api('GET', '/admin/providers'), api('GET', '/admin/upstream-keys')]);
      } catch (e) {
        body.replaceChildren(h('p', {class: 'error', attrs: {role: 'alert'}, text: 'Providers not loaded: ' + errText(e)}));
        return;
      }
      const byProv = new Map();
      for (const k of keys.data || []) {
        if (!byProv.has(k.provider_id)) byProv.set(k.provider_id, []);
        byProv.get(k.provider_id).push(k);
      }
      const list = provs.data || [];
      if (!list.length) {
        body.replaceChildren(h('p', {text: 'No upstream provider is configured (tollgate provider add).'}));
        return;
      }
      body.replaceChildren(...list.map((p) => {
        const hid = 'prov-' + p.id.replace(/[^A-Za-z0-9_-]/g, '-');
        return h('section', {class: 'card provider', attrs: {'aria-labelledby': hid}},
          h('h2', {text: p.name || p.id, attrs: {id: hid}}),
          h('p', {}, h('span', {class: 'badge ' + (p.enabled ? 'ok' : 'off'), text: p.enabled ? 'enabled' : 'disabled'}),
            ' ', h('code', {text: p.id}), ' · ' + p.kind + ' · ', h('code', {text: p.base_url}),
            ' · ' + p.models + ' models'),
          h('div', {class: 'row-actions'},
            btn(p.enabled ? 'Disable provider' : 'Enable provider',
              () => toggle('/admin/providers/' + encodeURIComponent(p.id), !p.enabled, 'Provider ' + p.id, load)),
            btn('Add key', () => addKey(p, load))),
          keyTable(p, byProv.get(p.id) || [], load));
      }));
    }
    await load();
  },
};
