// account.js: the profile (name editable), the password change, and ending this session.
import { api, setCsrf } from '../api.js';
import { h, when, field, toast, errorText } from '../ui.js';

function row(label, value) {
  return [h('dt', { text: label }), h('dd', { text: value || '—' })];
}

function profileForm(p, ctx) {
  const name = h('input', { type: 'text', name: 'name', value: p.name || '', maxLength: 200, autocomplete: 'name' });
  const err = h('p', { class: 'error', attrs: { role: 'alert' } });
  const save = h('button', { type: 'submit', class: 'btn primary', text: 'Save name' });
  const form = h('form', { class: 'card narrow', attrs: { 'aria-labelledby': 'acct-name' } }, h('h2', { id: 'acct-name', text: 'Display name' }), field('Name', name), err, h('div', { class: 'actions' }, save));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    save.disabled = true;
    try {
      await api('PUT', '/user/profile', { name: name.value.trim() });
      toast('Name saved.', 'ok');
      await ctx.refreshUser();
    } catch (e) {
      err.textContent = errorText(e);
    } finally {
      save.disabled = false;
    }
  });
  return form;
}

function passwordForm() {
  const cur = h('input', { type: 'password', name: 'current', required: true, autocomplete: 'current-password' });
  const next = h('input', { type: 'password', name: 'new', required: true, minLength: 10, maxLength: 128, autocomplete: 'new-password' });
  const again = h('input', { type: 'password', name: 'again', required: true, autocomplete: 'new-password' });
  const err = h('p', { class: 'error', attrs: { role: 'alert' } });
  const submit = h('button', { type: 'submit', class: 'btn primary', text: 'Change password' });
  const form = h(
    'form',
    { class: 'card narrow', attrs: { 'aria-labelledby': 'acct-pw' } },
    h('h2', { id: 'acct-pw', text: 'Password' }),
    field('Current password', cur),
    field('New password', next, 'At least 10 characters. Your other sessions end; API keys keep working.'),
    field('Repeat the new password', again),
    err,
    h('div', { class: 'actions' }, submit),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    if (next.value !== again.value) {
      err.textContent = 'The new passwords differ.';
      again.focus();
      return;
    }
    submit.disabled = true;
    try {
      await api('PUT', '/user/password', { current_password: cur.value, new_password: next.value });
      form.reset();
      toast('Password changed.', 'ok');
    } catch (e) {
      err.textContent = errorText(e);
      (e.param === 'new_password' ? next : cur).focus();
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

export default {
  id: 'account',
  title: 'Account',
  admin: false,
  async render(root, ctx) {
    root.append(h('h1', { text: 'Account' }));
    const p = await api('GET', '/user/profile');
    root.append(
      h('section', { attrs: { 'aria-labelledby': 'acct-profile' } }, h('h2', { id: 'acct-profile', text: 'Profile' }), h('dl', { class: 'props' }, row('Email', p.email), row('Username', p.username), row('Name', p.name), row('Role', p.role), row('Group', p.group), row('Status', p.status), row('Member since', when(p.created_at)))),
      profileForm(p, ctx),
      passwordForm(),
      h(
        'section',
        { class: 'card narrow', attrs: { 'aria-labelledby': 'acct-out' } },
        h('h2', { id: 'acct-out', text: 'Session' }),
        h('p', { text: 'End this browser\'s session. API keys are not affected.' }),
        h('button', {
          type: 'button',
          class: 'btn',
          text: 'End this session',
          on: {
            click: async (ev) => {
              ev.currentTarget.disabled = true;
              try {
                await api('POST', '/auth/logout');
              } catch (e) {
                if (e.status !== 401) toast(errorText(e), 'error');
              }
              setCsrf(null);
              await ctx.refreshUser();
              ctx.navigate('#/signin');
            },
          },
        }),
      ),
    );
  },
};
