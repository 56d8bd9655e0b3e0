// api.js: the dashboard's calls to tollgate (same origin, cookie session, CSRF header).
// MOUNT is the path tollgate is mounted at: everything before "/app/" in this page's URL.
const at = location.pathname.indexOf('/app/');
export const MOUNT = at >= 0 ? location.pathname.slice(0, at) : '';

let csrf = null;

export class ApiError extends Error {
  constructor(status, code, message, param) {
    super(message || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = code || null;
    this.param = param || null;
  }
}

export function setCsrf(token) {
  csrf = token || null;
}

// The OpenAI error shape, or a generic error when the body is not JSON (e.g. a proxy page).
async function failure(res) {
  let e = {};
  try {
    e = (await res.json()).error || {};
  } catch (_) {
    /* not JSON */
  }
  return new ApiError(res.status, e.code, e.message || `${res.status} ${res.statusText}`, e.param);
}

function headers(method, body, extra) {
  const h = Object.assign({ Accept: 'application/json' }, extra || {});
  if (body !== undefined && !(body instanceof FormData)) h['Content-Type'] = 'application/json';
  if (csrf && !['GET', 'HEAD', 'OPTIONS'].includes(method)) h['X-CSRF-Token'] = csrf;
  return h;
}

// api(method, path, body?, {raw, headers}): path is relative to MOUNT ("/user/balance").
// Returns the parsed JSON (null for 204), or the Response when raw. Throws ApiError.
export async function api(method, path, body, opts = {}) {
  method = method.toUpperCase();
  const init = {
    method,
    headers: headers(method, body, opts.headers),
    credentials: 'same-origin',
    cache: 'no-store',
  };
  if (body !== undefined) init.body = body instanceof FormData ? body : JSON.stringify(body);
  const res = await fetch(MOUNT + path, init);
  if (!res.ok) throw await failure(res);
  if (opts.raw) return res;
  if (res.status === 204) return null;
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

// session(): {user, expires_at, csrf_token} when signed in (and keeps the CSRF token), else null.
export async function session() {
  try {
    // Without a cookie the answer is 200 with user null: not signed in.
    const s = await api('GET', '/auth/session');
    setCsrf(s.csrf_token || null);
    return s && s.user ? s : null;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      setCsrf(null);
      return null;
    }
    throw e;
  }
}

// stream(path, body, onEvent, {key}): POST with "stream": true and read the server-sent events;
// onEvent gets each parsed JSON data payload (the "[DONE]" marker ends the stream). With a
// key the request authenticates by it (no cookie involved, no CSRF token needed).
export async function stream(path, body, onEvent, opts = {}) {
  const extra = { Accept: 'text/event-stream' };
  if (opts.key) extra.Authorization = `Bearer ${opts.key}`;
  const h = headers('POST', body, extra);
  if (opts.key) delete h['X-CSRF-Token'];
  const res = await fetch(MOUNT + path, {
    method: 'POST',
    headers: h,
    body: JSON.stringify(body),
    credentials: opts.key ? 'omit' : 'same-origin',
    cache: 'no-store',
    signal: opts.signal,
  });
  if (!res.ok) throw await failure(res);
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let cut;
    while ((cut = buf.search(/\r?\n\r?\n/)) >= 0) {
      const block = buf.slice(0, cut);
      buf = buf.slice(cut).replace(/^\r?\n\r?\n/, '');
      const data = block
        .split(/\r?\n/)
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).replace(/^ /, ''))
        .join('\n');
      if (!data) continue;
      if (data === '[DONE]') return;
      let ev;
      try {
        ev = JSON.parse(data);
      } catch (_) {
        continue;
      }
      if (ev && ev.error) throw new ApiError(res.status, ev.error.code, ev.error.message, ev.error.param);
      onEvent(ev);
    }
  }
}
