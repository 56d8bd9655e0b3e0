// signin.js: sign in (cookie session), and sign up (with an invite code when the server asks
// for one); a new account's primary API key is shown once.
import { api, setCsrf, ApiError } from '../api.js';
import { h, field, copyButton, errorText } from '../ui.js';

function input(type, name, extra = {}) {
  return h('input', { type, name, required: true, ...extra });
}

// the error of a form, announced (role=alert) and shown above its button
function errorSlot() {
  return h('p', { class: 'error', attrs: { role: 'alert' } });
}

async function login(email, password) {
  const r = await api('POST', '/auth/login', { email, password, cookie: true });
  setCsrf(r.csrf_token);
  return r;
}

function signInForm(root, ctx, show) {
  const email = input('email', 'email', { autocomplete: 'username', attrs: { inputmode: 'email' } });
  const password = input('password', 'password', { autocomplete: 'current-password' });
  const err = errorSlot();
  const submit = h('button', { type: 'submit', class: 'btn primary', text: 'Sign in' });
  const form = h(
    'form',
    { class: 'card', attrs: { 'aria-labelledby': 'signin-h' } },
    field('Email', email),
    field('Password', password),
    err,
    h('div', { class: 'actions' }, submit),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    submit.disabled = true;
    try {
      await login(email.value.trim(), password.value);
      await ctx.refreshUser();
      ctx.navigate('#/overview');
    } catch (e) {
      err.textContent = e instanceof ApiError && e.code === 'invalid_credentials' ? 'Wrong email or password.' : errorText(e);
      password.focus();
    } finally {
      submit.disabled = false;
    }
  });
  root.replaceChildren(
    h('h1', { id: 'signin-h', text: 'Sign in' }),
    form,
    h('p', null, 'No account yet? ', h('button', { type: 'button', class: 'btn link', text: 'Create an account', on: { click: () => show('signup') } })),
  );
}

async function signUpForm(root, ctx, show) {
  const back = h('p', null, 'Have an account? ', h('button', { type: 'button', class: 'btn link', text: 'Sign in instead', on: { click: () => show('signin') } }));
  let mode = 'open';
  try {
    mode = (await api('GET', '/auth/config')).registration || 'open';
  } catch (_) {
    // an older server without /auth/config: try, the answer will say
  }
  if (mode === 'closed') {
    root.replaceChildren(h('h1', { text: 'Create an account' }), h('p', { class: 'card', text: 'Registration is closed on this server. Ask its operator for an account.' }), back);
    return;
  }
  const email = input('email', 'email', { autocomplete: 'email', attrs: { inputmode: 'email' } });
  const password = input('password', 'new-password', { autocomplete: 'new-password', minLength: 10, maxLength: 128 });
  const invite = input('text', 'invite', { autocomplete: 'off', required: mode === 'invite' });
  const err = errorSlot();
  const submit = h('button', { type: 'submit', class: 'btn primary', text: 'Create account' });
  const form = h(
    'form',
    { class: 'card' },
    field('Email', email),
    field('Password', password, 'At least 10 characters; not your email name.'),
    field('Invite code', invite, mode === 'invite' ? 'Registration here needs an invite code.' : 'Only if you were given one.'),
    err,
    h('div', { class: 'actions' }, submit),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    submit.disabled = true;
    const body = { email: email.value.trim(), password: password.value };
    if (invite.value.trim()) body.invite_code = invite.value.trim();
    let reg;
    try {
      reg = await api('POST', '/auth/register', body);
    } catch (e) {
      err.textContent = errorText(e);
      submit.disabled = false;
      return;
    }
    let signedIn = true;
    try {
      await login(body.email, body.password);
    } catch (_) {
      signedIn = false;
    }
    showKey(root, ctx, reg.api_key, signedIn, show);
  });
  root.replaceChildren(h('h1', { text: 'Create an account' }), form, back);
}

// The primary key, once: it is not stored in the page and never shown again.
function showKey(root, ctx, key, signedIn, show) {
  const go = h('button', {
    type: 'button',
    class: 'btn primary',
    text: signedIn ? 'Continue to the dashboard' : 'Sign in',
    on: {
      click: async () => {
        if (!signedIn) return show('signin');
        await ctx.refreshUser();
        return ctx.navigate('#/overview');
      },
    },
  });
  root.replaceChildren(
    h('h1', { text: 'Account created' }),
    h(
      'div',
      { class: 'secret-box' },
      h('p', null, h('strong', { text: 'Your API key. ' }), 'Copy it now: it is shown only this once.'),
      h('code', { class: 'secret', text: key }),
      copyButton(key),
    ),
    h('div', { class: 'actions' }, go),
  );
  go.focus();
}

export default {
  id: 'signin',
  title: 'Sign in',
  admin: false,
  render(root, ctx) {
    const show = async (which) => {
      if (which === 'signup') await signUpForm(root, ctx, show);
      else signInForm(root, ctx, show);
      const first = root.querySelector('input');
      if (first) first.focus();
      else if (root.querySelector('h1')) root.querySelector('h1').focus();
    };
    if ((ctx.params && ctx.params.get('mode')) === 'signup') return signUpForm(root, ctx, show);
    return signInForm(root, ctx, show);
  },
};
