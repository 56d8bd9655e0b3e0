// main.js: the dashboard's shell: session check, nav, and a router on location.hash
// ("#/overview", "#/keys", ...). Signed out, every hash shows the sign-in page.
import { api, session, setCsrf } from './api.js';
import { h, toast, errorBox } from './ui.js';
import pages from './pages/index.js';

const state = { user: null, expiresAt: null };
const byId = new Map(pages.map((p) => [p.id, p]));
const main = document.getElementById('main');
const nav = document.getElementById('nav');
let renderSeq = 0;

function hashId() {
  const m = /^#\/([^?]*)/.exec(location.hash);
  return m ? decodeURIComponent(m[1]) : '';
}

// the query after the page id: "#/usage?model=x" -> URLSearchParams
export function hashParams() {
  const q = location.hash.indexOf('?');
  return new URLSearchParams(q >= 0 ? location.hash.slice(q + 1) : '');
}

function navigate(hash) {
  const target = hash.startsWith('#') ? hash : `#/${hash}`;
  if (location.hash === target) route();
  else location.hash = target;
}

async function refreshUser() {
  const s = await session();
  state.user = s ? s.user : null;
  state.expiresAt = s ? s.expires_at : null;
  drawNav();
  return state.user;
}

async function signOut() {
  try {
    await api('POST', '/auth/logout');
  } catch (e) {
    // an expired session is signed out already; anything else is worth saying
    if (!e || e.status !== 401) toast(`Sign out failed: ${e.message}`, 'error');
  }
  setCsrf(null);
  state.user = null;
  drawNav();
  navigate('#/signin');
}

function visible(p) {
  return p.id !== 'signin' && (!p.admin || (state.user && state.user.role === 'admin'));
}

function drawNav() {
  nav.replaceChildren();
  document.body.classList.toggle('signed-in', Boolean(state.user));
  if (!state.user) return;
  const current = hashId() || 'overview';
  const link = (p) =>
    h('li', null, h('a', { href: `#/${p.id}`, text: p.title, attrs: { 'aria-current': p.id === current ? 'page' : null } }));
  const user = pages.filter((p) => visible(p) && !p.admin);
  const admin = pages.filter((p) => visible(p) && p.admin);
  const toggle = h('button', {
    type: 'button',
    class: 'btn menu-toggle',
    text: 'Menu',
    attrs: { 'aria-expanded': 'false', 'aria-controls': 'nav-lists' },
    on: {
      click: () => {
        const open = toggle.getAttribute('aria-expanded') !== 'true';
        toggle.setAttribute('aria-expanded', String(open));
        nav.classList.toggle('open', open);
      },
    },
  });
  nav.append(
    toggle,
    h(
      'div',
      { id: 'nav-lists', class: 'nav-lists' },
      h('ul', null, user.map(link)),
      admin.length ? h('p', { class: 'nav-head', text: 'Admin', id: 'nav-admin' }) : null,
      admin.length ? h('ul', { attrs: { 'aria-labelledby': 'nav-admin' } }, admin.map(link)) : null,
      h('div', { class: 'nav-foot' }, h('span', { class: 'who', text: state.user.email }), h('button', { type: 'button', class: 'btn', text: 'Sign out', on: { click: signOut } })),
    ),
  );
}

async function route() {
  const seq = ++renderSeq;
  let id = hashId();
  let page = byId.get(id);
  if (!state.user) page = byId.get('signin');
  // An admin page typed in by a non-admin renders its own refusal (it fetches nothing).
  else if (!page || (!visible(page) && !page.admin)) {
    page = byId.get('overview');
    if (id !== 'overview') {
      history.replaceState(null, '', '#/overview');
      id = 'overview';
    }
  }
  nav.classList.remove('open');
  drawNav();
  const root = h('section', { class: `page page-${page.id}` });
  main.replaceChildren(root);
  main.setAttribute('aria-busy', 'true');
  document.title = `${page.title} · tollgate`;
  try {
    await page.render(root, { user: state.user, navigate, refreshUser, params: hashParams() });
  } catch (e) {
    if (seq !== renderSeq) return;
    if (e && e.status === 401) {
      // the session ended under us: back to sign-in
      state.user = null;
      main.removeAttribute('aria-busy');
      navigate('#/signin');
      return;
    }
    if (!root.querySelector('h1')) root.prepend(h('h1', { text: page.title }));
    root.append(errorBox(e));
  }
  if (seq !== renderSeq) return;
  main.removeAttribute('aria-busy');
  const h1 = root.querySelector('h1');
  if (h1) {
    h1.tabIndex = -1;
    h1.focus({ preventScroll: false });
  }
}

async function start() {
  try {
    await refreshUser();
  } catch (e) {
    main.replaceChildren(h('h1', { text: 'tollgate' }), errorBox(e, 'The server did not answer'));
    return;
  }
  window.addEventListener('hashchange', route);
  if (!location.hash || location.hash === '#' || location.hash === '#/') history.replaceState(null, '', state.user ? '#/overview' : '#/signin');
  await route();
}

start();
