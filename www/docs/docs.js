// docs.js: starts Swagger UI (vendored by scripts/vendor-www) on MOUNT/openapi.json
// SPDX-License-Identifier: MIT
//
// No inline script (the CSP allows only 'self' scripts), so the viewer is started from here.
// The server URL is MOUNT on this origin, whatever openapi.json says, so "Try it out" calls
// this gateway behind whatever prefix it is mounted under. A key pasted in "Authorize" goes
// in the Authorization header; without one the browser's session cookie is sent, and
// non-GET requests then carry the CSRF token from /auth/session.

const at = location.pathname.lastIndexOf('/docs/');
export const MOUNT = at >= 0 ? location.pathname.slice(0, at) : '';

const status = document.getElementById('status');

function say(text, link) {
  status.textContent = text;
  if (link) {
    status.append(' ');
    const a = document.createElement('a');
    a.href = link.href;
    a.textContent = link.text;
    status.append(a);
  }
}

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.onload = resolve;
    s.onerror = () => reject(new Error('missing ' + src));
    document.head.append(s);
  });
}

function loadStyle(href) {
  const l = document.createElement('link');
  l.rel = 'stylesheet';
  l.href = href;
  document.head.prepend(l);
}

async function csrfToken() {
  try {
    const r = await fetch(MOUNT + '/auth/session', {credentials: 'same-origin'});
    if (!r.ok) return null;
    return (await r.json()).csrf_token || null;
  } catch {
    return null;
  }
}

// label: names the controls Swagger UI leaves unnamed (axe: select-name), once and again
// whenever it re-renders them.
function label() {
  const names = {'#servers': 'Server', '.operation-filter-input': 'Filter by tag',
    '.copy-to-clipboard > button': 'Copy to clipboard', '.close-modal': 'Close',
    // Its visible text, which axe wants inside the name (it says "Apply credentials").
    '.auth-container button.authorize': 'Authorize'};
  const apply = () => {
    for (const [sel, name] of Object.entries(names)) {
      for (const el of document.querySelectorAll('#swagger ' + sel)) {
        if (el.getAttribute('aria-label') !== name) el.setAttribute('aria-label', name);
      }
    }
    // Scrolling code blocks must be reachable by keyboard (axe: scrollable-region-focusable).
    for (const el of document.querySelectorAll('#swagger pre.microlight:not([tabindex])')) el.tabIndex = 0;
    for (const el of document.querySelectorAll('#swagger select:not([aria-label]), #swagger input:not([aria-label])')) {
      if (!el.labels || el.labels.length === 0) {
        const hint = el.getAttribute('placeholder') || el.getAttribute('title') || el.closest('tr')?.querySelector('.parameter__name')?.textContent;
        if (hint) el.setAttribute('aria-label', hint.trim());
      }
    }
  };
  apply();
  new MutationObserver(apply).observe(document.getElementById('swagger'), {childList: true, subtree: true});
}

async function start() {
  let spec;
  try {
    const r = await fetch(MOUNT + '/openapi.json', {credentials: 'same-origin'});
    if (!r.ok) throw new Error('HTTP ' + r.status);
    spec = await r.json();
  } catch (e) {
    status.classList.add('error');
    say('Could not load openapi.json (' + e.message + ').');
    return;
  }
  try {
    loadStyle('vendor/swagger-ui.css');
    await loadScript('vendor/swagger-ui-bundle.js');
  } catch {
    status.classList.add('error');
    say('The interactive viewer (swagger-ui-dist) is not installed on this server ' +
        '(scripts/vendor-www fetches it).', {href: '../redoc/', text: 'Read the API reference'});
    return;
  }
  spec.servers = [{url: location.origin + MOUNT, description: 'this gateway'}];
  status.textContent = '';
  window.ui = window.SwaggerUIBundle({
    spec,
    dom_id: '#swagger',
    // Deep links put an <a> inside each operation's toggle button (axe: nested-interactive).
    deepLinking: false,
    docExpansion: 'list',
    defaultModelsExpandDepth: 0,
    displayRequestDuration: true,
    filter: true,
    validatorUrl: null,
    // The highlighter's colours are inline and fail contrast; plain text reads as well.
    syntaxHighlight: {activated: false},
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
    onComplete: label,
    // Asked for only when needed (a state-changing call riding on the cookie), so a visitor
    // who is not signed in causes no 401 on page load.
    async requestInterceptor(req) {
      const method = (req.method || 'GET').toUpperCase();
      const keyed = Object.keys(req.headers || {}).some((h) => /^(authorization|x-api-key)$/i.test(h));
      if (!keyed && !['GET', 'HEAD', 'OPTIONS'].includes(method)) {
        const csrf = await csrfToken();
        if (csrf) req.headers['X-CSRF-Token'] = csrf;
      }
      return req;
    },
  });
}

start();
