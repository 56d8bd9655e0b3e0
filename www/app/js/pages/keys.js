// keys.js: the user's API keys: list with restrictions and use; create with every
// restriction; the full key shown once with Copy; rotate with a grace period; enable/disable;
// revoke after a confirmation.
import { api } from '../api.js';
import { h, usd, when, table, dialog, confirm, toast, field, copyButton, errorText, errorBox } from '../ui.js';

const lines = (s) => s.split(/\r?\n/).map((x) => x.trim()).filter(Boolean);

// datetime-local (the browser's zone) -> "YYYY-MM-DDTHH:MM:SSZ"
function isoOf(local) {
  const d = new Date(local);
  if (Number.isNaN(d.getTime())) return null;
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function restrictions(k) {
  const out = [];
  if (k.expires_at) out.push(`expires ${when(k.expires_at)}`);
  if (k.max_requests !== null && k.max_requests !== undefined) out.push(`${k.requests_used} of ${k.max_requests} requests`);
  if (k.credit_limit !== null && k.credit_limit !== undefined) out.push(`${usd(k.spent)} of ${usd(k.credit_limit)} credit`);
  if (k.ip_allowlist && k.ip_allowlist.length) out.push(`IPs: ${k.ip_allowlist.join(', ')}`);
  if (k.referrer_allowlist && k.referrer_allowlist.length) out.push(`referrers: ${k.referrer_allowlist.join(', ')}`);
  if (k.allowed_models && k.allowed_models.length) out.push(`models: ${k.allowed_models.join(', ')}`);
  if (!out.length) return h('span', { class: 'muted', text: 'none' });
  return h('ul', { class: 'plain' }, out.map((t) => h('li', { text: t })));
}

// the full key, once, above the list
function showSecret(slot, title, key, extra) {
  const box = h(
    'div',
    { class: 'secret-box', attrs: { role: 'region', 'aria-label': title, tabindex: '-1' } },
    h('h2', { text: title }),
    h('p', { text: 'Copy the key now: it is shown only this once and cannot be recovered.' }),
    h('code', { class: 'secret', text: key }),
    extra ? h('p', { class: 'muted', text: extra }) : null,
    h('div', { class: 'actions' }, copyButton(key), h('button', { type: 'button', class: 'btn', text: 'Done', on: { click: () => box.remove() } })),
  );
  slot.replaceChildren(box);
  box.focus();
}

async function createKey(ctx) {
  const isAdmin = ctx.user && ctx.user.role === 'admin';
  const name = h('input', { type: 'text', name: 'name', maxLength: 100, autocomplete: 'off' });
  const env = h('select', { name: 'environment' }, ['live', 'test', 'staging', 'dev'].map((e) => h('option', { value: e, text: e })));
  // Test mode (issue 18): a test key is environment test, and only it.
  const mode = h(
    'select',
    { name: 'mode' },
    [
      ['live', 'Live: spends your credits'],
      ['test', 'Test: spends the daily sandbox, test/echo and test/stream'],
    ].map(([v, t]) => h('option', { value: v, text: t })),
  );
  mode.addEventListener('change', () => {
    if (mode.value === 'test') env.value = 'test';
    else if (env.value === 'test') env.value = 'live';
  });
  env.addEventListener('change', () => {
    mode.value = env.value === 'test' ? 'test' : 'live';
  });
  const perms = ['read', 'write', 'keys'].concat(isAdmin ? ['admin'] : []);
  const boxes = perms.map((p) => h('input', { type: 'checkbox', name: 'perm', value: p, checked: p === 'read' || p === 'write' }));
  const expires = h('input', { type: 'datetime-local', name: 'expires' });
  const cap = h('input', { type: 'number', name: 'cap', min: 1, step: 1, attrs: { inputmode: 'numeric' } });
  const credit = h('input', { type: 'text', name: 'credit', attrs: { inputmode: 'decimal', pattern: '\\d+(\\.\\d{1,9})?' } });
  const ips = h('textarea', { name: 'ips', rows: 2 });
  const refs = h('textarea', { name: 'refs', rows: 2 });
  const models = h('textarea', { name: 'models', rows: 2 });
  const err = h('p', { class: 'error', attrs: { role: 'alert' } });
  const body = h(
    'div',
    null,
    field('Name', name),
    field('Mode', mode, 'Test keys never touch your credits: they spend a sandbox refilled each day.'),
    field('Environment', env),
    h('fieldset', null, h('legend', { text: 'Permissions' }), boxes.map((b, i) => field(perms[i], b))),
    field('Expires at', expires, 'Empty: never. Your local time.'),
    field('Request cap', cap, 'Empty: no cap on the number of requests.'),
    field('Credit limit (USD)', credit, 'Empty: no limit beyond your balance.'),
    field('IP allowlist', ips, 'One address or CIDR per line. Empty: any.'),
    field('Referrer allowlist', refs, 'One host per line (example.com, *.example.com). Empty: any.'),
    field('Models', models, 'One model id per line. Empty: every model.'),
    err,
  );
  return dialog({
    title: 'Create key',
    body,
    actions: [
      { label: 'Cancel', value: null },
      { label: 'Create', submit: true, primary: true },
    ],
    onSubmit: async () => {
      err.textContent = '';
      const req = { mode: mode.value, environment: env.value, permissions: boxes.filter((b) => b.checked).map((b) => b.value) };
      if (name.value.trim()) req.name = name.value.trim();
      if (expires.value) {
        req.expires_at = isoOf(expires.value);
        if (!req.expires_at) {
          err.textContent = 'Expires at: not a date.';
          return false;
        }
      }
      if (cap.value) req.max_requests = Number(cap.value);
      if (credit.value.trim()) req.credit_limit = credit.value.trim();
      if (lines(ips.value).length) req.ip_allowlist = lines(ips.value);
      if (lines(refs.value).length) req.referrer_allowlist = lines(refs.value);
      if (lines(models.value).length) req.allowed_models = lines(models.value);
      try {
        return await api('POST', '/user/api-keys', req);
      } catch (e) {
        err.textContent = errorText(e);
        return false;
      }
    },
  });
}

async function rotateKey(k) {
  const grace = h('input', { type: 'number', name: 'grace', min: 0, max: 604800, step: 1, value: '3600', required: true });
  const err = h('p', { class: 'error', attrs: { role: 'alert' } });
  return dialog({
    title: `Rotate key ${k.name || k.api_key}`,
    body: h(
      'div',
      null,
      h('p', { text: 'A new key replaces this one. The old key keeps working for the grace period, so running clients can switch.' }),
      field('Grace period (seconds)', grace, '0 to 604800 (7 days). 0 ends the old key now.'),
      err,
    ),
    actions: [
      { label: 'Cancel', value: null },
      { label: 'Rotate', submit: true, primary: true },
    ],
    onSubmit: async () => {
      err.textContent = '';
      try {
        return await api('POST', `/user/api-keys/${encodeURIComponent(k.id)}/rotate`, { grace_seconds: Number(grace.value) });
      } catch (e) {
        err.textContent = errorText(e);
        return false;
      }
    },
  });
}

function keyLabel(k) {
  return k.name ? `${k.name} (${k.api_key})` : k.api_key;
}

async function draw(list, secret, ctx) {
  let keys;
  try {
    keys = (await api('GET', '/user/api-keys')).data || [];
  } catch (e) {
    if (e.status === 401) throw e;
    list.replaceChildren(errorBox(e, 'Keys'));
    return;
  }
  const redraw = () => draw(list, secret, ctx);
  const act = async (btn, fn, done) => {
    btn.disabled = true;
    try {
      await fn();
      toast(done, 'ok');
      await redraw();
    } catch (e) {
      toast(errorText(e), 'error');
      btn.disabled = false;
    }
  };
  const actions = (k) => {
    const label = keyLabel(k);
    const rotate = h('button', {
      type: 'button',
      class: 'btn small',
      text: 'Rotate',
      attrs: { 'aria-label': `Rotate ${label}` },
      on: {
        click: async () => {
          const r = await rotateKey(k);
          if (!r) return;
          const until = r.previous_key_valid_until ? `The old key works until ${when(r.previous_key_valid_until)}.` : 'The old key no longer works.';
          await redraw();
          showSecret(secret, 'New key after rotation', r.api_key, until);
        },
      },
    });
    const toggle = h('button', {
      type: 'button',
      class: 'btn small',
      text: k.is_active ? 'Disable' : 'Enable',
      attrs: { 'aria-label': `${k.is_active ? 'Disable' : 'Enable'} ${label}` },
      on: {
        click: () => act(toggle, () => api('PUT', `/user/api-keys/${encodeURIComponent(k.id)}`, { is_active: !k.is_active }), k.is_active ? 'Key disabled.' : 'Key enabled.'),
      },
    });
    const revoke = h('button', {
      type: 'button',
      class: 'btn small danger',
      text: 'Revoke',
      attrs: { 'aria-label': `Revoke ${label}` },
      on: {
        click: async () => {
          const yes = await confirm(`Revoke ${label}? Requests with it fail from now on. This cannot be undone.`, { title: 'Revoke key', ok: 'Revoke' });
          if (yes) await act(revoke, () => api('DELETE', `/user/api-keys/${encodeURIComponent(k.id)}`), 'Key revoked.');
        },
      },
    });
    return h('div', { class: 'row-actions' }, rotate, toggle, revoke);
  };
  list.replaceChildren(
    table({
      caption: `${keys.length} key${keys.length === 1 ? '' : 's'}`,
      empty: 'No keys. Create one to call the API.',
      rows: keys,
      columns: [
        { label: 'Name', get: (k) => h('span', null, k.name || h('span', { class: 'muted', text: '(no name)' }), k.is_primary ? h('span', { class: 'badge', text: 'primary' }) : null) },
        { label: 'Key', get: (k) => h('span', null, h('code', { text: k.api_key }), h('br'), h('span', { class: 'muted', text: k.mode === 'test' ? 'test mode (sandbox)' : k.environment })) },
        { label: 'Permissions', get: (k) => (k.permissions || []).join(', ') },
        { label: 'Restrictions', get: restrictions },
        { label: 'Used', get: (k) => h('span', null, `${k.requests_used} request${k.requests_used === 1 ? '' : 's'}`, h('br'), h('span', { class: 'muted', text: k.last_used_at ? `last ${when(k.last_used_at)}` : 'never used' }), h('br'), h('span', { class: 'muted', text: `created ${when(k.created_at)}` })) },
        { label: 'Status', get: (k) => h('span', { class: ['badge', k.is_active ? 'ok' : 'off'], text: k.is_active ? 'active' : 'disabled' }) },
        { label: 'Actions', get: actions },
      ],
    }),
  );
}

export default {
  id: 'keys',
  title: 'Keys',
  admin: false,
  async render(root, ctx) {
    const secret = h('div', { class: 'secret-slot' });
    const list = h('div', { class: 'key-list' });
    const create = h('button', {
      type: 'button',
      class: 'btn primary',
      text: 'Create key',
      on: {
        click: async () => {
          const r = await createKey(ctx);
          if (!r) return;
          await draw(list, secret, ctx);
          showSecret(secret, 'New key', r.api_key, r.key && r.key.name ? `Name: ${r.key.name}` : null);
        },
      },
    });
    root.append(h('h1', { text: 'Keys' }), h('div', { class: 'toolbar' }, create), secret, list);
    await draw(list, secret, ctx);
  },
};
