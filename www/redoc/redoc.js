// redoc.js: the reading view of MOUNT/openapi.json: operations by tag, a side index, search
// SPDX-License-Identifier: MIT
//
// Our own code, no third-party library: the spec is ours and small, and a page that needs no
// vendored file still works on a host where scripts/vendor-www could not run. Every text of
// the spec goes into the page as text (textContent), never as HTML.

const at = location.pathname.lastIndexOf('/redoc/');
export const MOUNT = at >= 0 ? location.pathname.slice(0, at) : '';
const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'];
const MAX_DEPTH = 6; // nested schemas deeper than this are named, not expanded

function h(tag, props, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const kid of kids.flat()) {
    if (kid === null || kid === undefined || kid === false) continue;
    el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return el;
}

// deref: follows a local "$ref" ("#/components/schemas/X"); returns [object, name|null].
function deref(spec, obj) {
  let name = null;
  for (let hops = 0; obj && obj.$ref && hops < 20; hops++) {
    const ref = obj.$ref;
    if (!ref.startsWith('#/')) break;
    name = ref.split('/').pop();
    obj = ref.slice(2).split('/').reduce((o, k) => (o ? o[k.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined), spec);
  }
  return [obj || {}, name];
}

function typeOf(spec, s) {
  const [sch, name] = deref(spec, s);
  let t = Array.isArray(sch.type) ? sch.type.join(' | ') : sch.type || '';
  if (t === 'array' && sch.items) t = 'array of ' + (typeOf(spec, sch.items) || 'any');
  for (const k of ['oneOf', 'anyOf']) {
    if (!t && sch[k]) t = sch[k].map((x) => typeOf(spec, x) || 'object').join(' | ');
  }
  if (!t && sch.properties) t = 'object';
  if (sch.format) t += ' (' + sch.format + ')';
  if (name && (t === 'object' || !t)) t = name;
  return t;
}

function example(spec, s, depth = 0, seen = new Set()) {
  const [sch, name] = deref(spec, s);
  if (sch.example !== undefined) return sch.example;
  if (Array.isArray(sch.examples) && sch.examples.length) return sch.examples[0];
  if (sch.const !== undefined) return sch.const;
  if (sch.default !== undefined) return sch.default;
  if (Array.isArray(sch.enum) && sch.enum.length) return sch.enum[0];
  if (depth > MAX_DEPTH || (name && seen.has(name))) return {};
  const next = name ? new Set([...seen, name]) : seen;
  const alt = sch.oneOf || sch.anyOf;
  if (alt && alt.length) return example(spec, alt[0], depth + 1, next);
  if (sch.allOf) return Object.assign({}, ...sch.allOf.map((x) => example(spec, x, depth + 1, next)));
  let type = Array.isArray(sch.type) ? sch.type.find((t) => t !== 'null') : sch.type;
  if (!type && sch.properties) type = 'object';
  switch (type) {
    case 'object': {
      const o = {};
      for (const [k, v] of Object.entries(sch.properties || {})) o[k] = example(spec, v, depth + 1, next);
      return o;
    }
    case 'array': return sch.items ? [example(spec, sch.items, depth + 1, next)] : [];
    case 'integer': case 'number': return 0;
    case 'boolean': return true;
    case 'null': return null;
    case 'string': return sch.format === 'date-time' ? '2026-01-01T00:00:00Z' : 'string';
    default: return null;
  }
}

// schemaTree: a nested list of the schema's properties (name, type, required, description).
function schemaTree(spec, s, depth = 0, seen = new Set()) {
  const [sch, name] = deref(spec, s);
  if (name && seen.has(name)) return h('p', {class: 'ptype', text: name + ' (see above)'});
  const next = name ? new Set([...seen, name]) : seen;
  const inner = sch.type === 'array' || (Array.isArray(sch.type) && sch.type.includes('array'))
    ? deref(spec, sch.items || {})[0] : sch;
  const props = inner.properties || {};
  const alts = inner.oneOf || inner.anyOf || inner.allOf;
  if (!Object.keys(props).length && !alts) {
    return h('p', {}, h('span', {class: 'ptype', text: typeOf(spec, s) || 'any'}),
      sch.description ? ' ' + sch.description : '');
  }
  const req = new Set(inner.required || []);
  const ul = h('ul', {class: 'schema'});
  if (inner !== sch) ul.append(h('li', {class: 'ptype', text: 'array of:'}));
  for (const [k, v] of Object.entries(props)) {
    const [pv] = deref(spec, v);
    const li = h('li', {}, h('code', {class: 'pname', text: k}), ' ',
      h('span', {class: 'ptype', text: typeOf(spec, v)}), req.has(k) ? h('span', {class: 'req', text: ' required'}) : '',
      pv.enum ? h('span', {class: 'ptype', text: ' one of ' + pv.enum.map((e) => JSON.stringify(e)).join(', ')}) : '',
      pv.description ? h('div', {class: 'desc', text: pv.description}) : '');
    const deeper = pv.properties || (pv.items && deref(spec, pv.items)[0].properties);
    if (deeper && depth < MAX_DEPTH) li.append(schemaTree(spec, v, depth + 1, next));
    ul.append(li);
  }
  if (alts) {
    const word = inner.allOf ? 'all of' : 'one of';
    alts.forEach((a, i) => ul.append(h('li', {}, h('span', {class: 'ptype', text: word + ' #' + (i + 1) + ':'}),
      depth < MAX_DEPTH ? schemaTree(spec, a, depth + 1, next) : typeOf(spec, a))));
  }
  return ul;
}

function mediaBlock(spec, content) {
  const out = [];
  for (const [type, media] of Object.entries(content || {})) {
    out.push(h('p', {class: 'ptype'}, 'Content type: ', h('code', {text: type})));
    if (media.schema) out.push(schemaTree(spec, media.schema));
    let ex = media.example;
    if (ex === undefined && media.examples) ex = Object.values(media.examples)[0]?.value;
    if (ex === undefined && media.schema) ex = example(spec, media.schema);
    if (ex !== undefined) {
      out.push(h('p', {class: 'ptype', text: 'Example'}),
        h('pre', {}, h('code', {text: typeof ex === 'string' ? ex : JSON.stringify(ex, null, 2)})));
    }
  }
  return out;
}

function paramTable(spec, params) {
  const rows = params.map((p0) => {
    const [p] = deref(spec, p0);
    return h('tr', {}, h('td', {}, h('code', {text: p.name})), h('td', {text: p.in}),
      h('td', {text: typeOf(spec, p.schema || {})}), h('td', {text: p.required ? 'yes' : 'no'}),
      h('td', {text: p.description || ''}));
  });
  // Focusable: on a phone the table scrolls sideways, and keyboard users must reach it.
  return h('div', {class: 'scroll', tabindex: '0', role: 'region', 'aria-label': 'Parameters'}, h('table', {},
    h('thead', {}, h('tr', {}, ['Name', 'In', 'Type', 'Required', 'Description'].map((c) => h('th', {scope: 'col', text: c})))),
    h('tbody', {}, rows)));
}

function authLine(spec, op) {
  const sec = op.security !== undefined ? op.security : spec.security;
  if (!sec || !sec.length) return h('p', {class: 'auth', text: 'No credential needed.'});
  const names = sec.map((s) => Object.keys(s).join(' + ') || 'none');
  return h('p', {class: 'auth', text: 'Credential: ' + names.join(' or ')});
}

function opId(method, path) {
  return 'op-' + method + '-' + path.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

function renderOp(spec, path, method, op, pathParams) {
  const id = opId(method, path);
  const art = h('article', {class: 'op', id, 'aria-labelledby': id + '-h'},
    h('h3', {id: id + '-h'}, h('span', {class: 'method m-' + method, text: method.toUpperCase()}),
      h('code', {text: path})),
    op.summary ? h('p', {class: 'summary', text: op.summary}) : '',
    op.description ? h('p', {class: 'desc', text: op.description}) : '',
    op.deprecated ? h('p', {class: 'req', text: 'Deprecated.'}) : '',
    authLine(spec, op));
  const params = [...(pathParams || []), ...(op.parameters || [])];
  if (params.length) art.append(h('h4', {text: 'Parameters'}), paramTable(spec, params));
  if (op.requestBody) {
    const [body] = deref(spec, op.requestBody);
    art.append(h('h4', {text: 'Request body' + (body.required ? ' (required)' : '')}),
      body.description ? h('p', {class: 'desc', text: body.description}) : '', ...mediaBlock(spec, body.content));
  }
  art.append(h('h4', {text: 'Responses'}));
  for (const [code, r0] of Object.entries(op.responses || {})) {
    const [r] = deref(spec, r0);
    const det = h('details', {class: 'resp'},
      h('summary', {}, h('span', {class: 'code-' + code[0], text: code}), ' ', r.description || ''),
      ...mediaBlock(spec, r.content));
    if (code[0] === '2') det.open = true;
    art.append(det);
  }
  art.dataset.search = [method, path, op.summary, op.description, op.operationId, ...(op.tags || [])]
    .join(' ').toLowerCase();
  return art;
}

function groupByTag(spec) {
  const groups = new Map();
  for (const t of spec.tags || []) groups.set(t.name, {tag: t, ops: []});
  for (const [path, item] of Object.entries(spec.paths || {})) {
    for (const m of METHODS) {
      const op = item[m];
      if (!op) continue;
      const tag = (op.tags && op.tags[0]) || 'other';
      if (!groups.has(tag)) groups.set(tag, {tag: {name: tag}, ops: []});
      groups.get(tag).ops.push({path, method: m, op, pathParams: item.parameters});
    }
  }
  return [...groups.values()].filter((g) => g.ops.length);
}

function render(spec) {
  const content = document.getElementById('content');
  const index = document.getElementById('index');
  const info = spec.info || {};
  document.getElementById('title').textContent = (info.title || 'API') + ' API reference';
  document.getElementById('intro').append(
    info.version ? h('p', {class: 'ptype', text: 'Version ' + info.version + ' · OpenAPI ' + (spec.openapi || '')}) : '',
    info.description ? h('p', {class: 'desc', text: info.description}) : '',
    h('p', {class: 'ptype'}, 'Base URL: ', h('code', {text: location.origin + MOUNT})));
  for (const g of groupByTag(spec)) {
    const tid = 'tag-' + g.tag.name.replace(/[^A-Za-z0-9]+/g, '-');
    const sec = h('section', {class: 'tag', id: tid, 'aria-labelledby': tid + '-h'},
      h('h2', {id: tid + '-h', text: g.tag.name}),
      g.tag.description ? h('p', {class: 'desc', text: g.tag.description}) : '');
    const list = h('ul', {});
    for (const o of g.ops) {
      const art = renderOp(spec, o.path, o.method, o.op, o.pathParams);
      sec.append(art);
      list.append(h('li', {'data-op': art.id}, h('a', {href: '#' + art.id},
        h('span', {class: 'method m-' + o.method, text: o.method.toUpperCase()}),
        h('span', {text: o.path}))));
    }
    content.append(sec);
    index.append(h('div', {'data-tag': tid}, h('h2', {}, h('a', {href: '#' + tid, text: g.tag.name})), list));
  }
}

function search(q) {
  q = q.trim().toLowerCase();
  const words = q.split(/\s+/).filter(Boolean);
  let shown = 0;
  let total = 0;
  for (const art of document.querySelectorAll('#content .op')) {
    const hit = words.every((w) => art.dataset.search.includes(w));
    art.classList.toggle('hidden', !hit);
    document.querySelector('[data-op="' + art.id + '"]').classList.toggle('hidden', !hit);
    total++;
    if (hit) shown++;
  }
  for (const sec of document.querySelectorAll('#content .tag')) {
    const any = sec.querySelector('.op:not(.hidden)') !== null;
    sec.classList.toggle('hidden', !any);
    document.querySelector('[data-tag="' + sec.id + '"]').classList.toggle('hidden', !any);
  }
  document.getElementById('hits').textContent = words.length ? shown + ' of ' + total + ' operations' : '';
}

async function start() {
  const status = document.getElementById('status');
  let spec;
  try {
    const r = await fetch(MOUNT + '/openapi.json', {credentials: 'same-origin'});
    if (!r.ok) throw new Error('HTTP ' + r.status);
    spec = await r.json();
  } catch (e) {
    status.textContent = 'Could not load openapi.json (' + e.message + ').';
    return;
  }
  render(spec);
  status.textContent = '';
  const input = document.getElementById('search');
  input.addEventListener('input', () => search(input.value));
  // A deep link (#op-get-v1-models) lands on its operation once it exists.
  if (location.hash.length > 1) document.getElementById(decodeURIComponent(location.hash.slice(1)))?.scrollIntoView();
}

start();
