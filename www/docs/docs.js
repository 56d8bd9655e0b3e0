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
    deepLinking: true,
    docExpansion: 'list',
    defaultModelsExpandDepth: 0,
    displayRequestDuration: true,
    filter: true,
    validatorUrl: null,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
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
