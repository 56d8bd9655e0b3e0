// ui.js: small DOM helpers shared by the dashboard's pages (no framework).

let uid = 0;
export function nextId(prefix = 'f') {
  uid += 1;
  return `${prefix}-${uid}`;
}

// h(tag, props, ...children): props: class, text, on: {event: fn}, attrs: {name: value};
// any other key is set as a property when the element has it (value, type, checked...),
// else as an attribute. Children: nodes, strings, arrays, null/false (skipped).
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (k === 'attrs') for (const [a, av] of Object.entries(v)) {
      if (av !== undefined && av !== null && av !== false) el.setAttribute(a, av === true ? '' : av);
    }
    else if (k in el) el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, kids) {
  for (const c of kids) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

// usd("12.345000000") -> "$12.345": the API's decimal string as it is, at least two decimals
// and never rounded ("$99.9995716", "$0.0000315"). Balances and charges are exact integers
// of nano-USD on the server; a rounded figure would show a balance the user does not have.
export function usd(str) {
  if (str === undefined || str === null || str === '') return '—';
  let s = String(str).trim();
  let neg = false;
  if (s.startsWith('-')) {
    neg = true;
    s = s.slice(1);
  } else if (s.startsWith('+')) s = s.slice(1);
  if (!/^\d+(\.\d+)?$/.test(s)) return String(str);
  let [int, frac = ''] = s.split('.');
  int = int.replace(/^0+(?=\d)/, '');
  frac = frac.replace(/0+$/, '').padEnd(2, '0');
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const zero = /^0+$/.test(int + frac);
  return `${neg && !zero ? '−' : ''}$${grouped}.${frac}`;
}

// when(iso): a short local date and time; "—" for none.
export function when(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

// table({columns: [{label, get(row), num?}], rows, caption, empty}): a table inside a
// horizontally scrolling, focusable region (phones).
export function table({ columns, rows, caption, empty = 'Nothing yet.' }) {
  if (!rows || rows.length === 0) return h('p', { class: 'empty', text: empty });
  const cell = (tag, col, content) => h(tag, { class: col.num ? 'num' : null, attrs: tag === 'th' ? { scope: 'col' } : null }, content);
  const t = h(
    'table',
    null,
    caption ? h('caption', { text: caption }) : null,
    h('thead', null, h('tr', null, columns.map((c) => cell('th', c, c.label)))),
    h(
      'tbody',
      null,
      rows.map((r) => h('tr', null, columns.map((c) => {
        const v = c.get(r);
        return cell('td', c, v === undefined || v === null || v === '' ? '—' : v);
      }))),
    ),
  );
  return h('div', { class: 'scroll', attrs: { role: 'region', tabindex: '0', 'aria-label': caption || 'Table' } }, t);
}

// dialog({title, body, actions: [{label, value, primary?, danger?, submit?}]}): a modal
// <dialog>; resolves with the chosen action's value (null on Escape/cancel). An action with
// submit: true submits the form inside body: when the body has a <form>, its 'submit' value
// is given by onSubmit (return false to keep the dialog open).
export function dialog({ title, body, actions = [{ label: 'Close', value: null }], onSubmit }) {
  return new Promise((resolve) => {
    const opener = document.activeElement;
    const titleId = nextId('dlg');
    const form = h('form', { attrs: { method: 'dialog' } });
    const buttons = actions.map((a) =>
      h('button', {
        type: a.submit ? 'submit' : 'button',
        class: ['btn', a.primary && 'primary', a.danger && 'danger'],
        text: a.label,
        value: a.value === undefined ? '' : String(a.value),
        on: a.submit ? null : { click: () => finish(a.value === undefined ? null : a.value) },
      }),
    );
    form.append(h('h2', { id: titleId, text: title }), h('div', { class: 'dialog-body' }, body), h('div', { class: 'actions' }, buttons));
    const dlg = h('dialog', { attrs: { 'aria-labelledby': titleId } }, form);
    let done = false;
    function finish(v) {
      if (done) return;
      done = true;
      if (dlg.open) dlg.close();
      dlg.remove();
      if (opener && opener.isConnected && opener.focus) opener.focus();
      resolve(v);
    }
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const sub = actions.find((a) => a.submit);
      if (onSubmit) {
        const btns = form.querySelectorAll('button');
        btns.forEach((b) => { b.disabled = true; });
        let v;
        try {
          v = await onSubmit(form);
        } finally {
          btns.forEach((b) => { b.disabled = false; });
        }
        if (v === false) return;
        finish(v === undefined ? (sub ? sub.value : true) : v);
      } else finish(sub ? sub.value : true);
    });
    dlg.addEventListener('cancel', (ev) => {
      ev.preventDefault();
      finish(null);
    });
    document.body.append(dlg);
    dlg.showModal();
    const first = dlg.querySelector('input:not([type=hidden]):not([disabled]), select, textarea') || dlg.querySelector('.primary') || buttons[0];
    if (first) first.focus();
  });
}

// confirm(text, {ok}) -> Promise<bool>
export async function confirm(text, { title = 'Are you sure?', ok = 'OK', danger = true } = {}) {
  const v = await dialog({
    title,
    body: h('p', { text }),
    actions: [
      { label: 'Cancel', value: false },
      { label: ok, value: true, primary: !danger, danger },
    ],
  });
  return v === true;
}

// toast(text, kind): 'info' | 'ok' | 'error'; announced by the aria-live region.
export function toast(text, kind = 'info') {
  let box = document.getElementById('toasts');
  if (!box) {
    box = h('div', { id: 'toasts', class: 'toasts', attrs: { role: 'status', 'aria-live': 'polite' } });
    document.body.append(box);
  }
  const t = h('div', { class: ['toast', kind], text });
  box.append(t);
  setTimeout(() => t.remove(), kind === 'error' ? 9000 : 5000);
}

// field(label, input, hint): a labelled control (the label's "for" names the input's id).
export function field(label, input, hint) {
  if (!input.id) input.id = nextId('f');
  let hintEl = null;
  if (hint) {
    hintEl = h('small', { class: 'hint', id: `${input.id}-hint`, text: hint });
    input.setAttribute('aria-describedby', hintEl.id);
  }
  if (input.type === 'checkbox' || input.type === 'radio') {
    return h('div', { class: 'field check' }, input, h('label', { attrs: { for: input.id }, text: label }), hintEl);
  }
  return h('div', { class: 'field' }, h('label', { attrs: { for: input.id }, text: label }), input, hintEl);
}

// copyButton(text): "Copy"; copies to the clipboard (falls back to selecting a field).
export function copyButton(text, label = 'Copy') {
  const b = h('button', {
    type: 'button',
    class: 'btn',
    text: label,
    on: {
      click: async () => {
        try {
          await navigator.clipboard.writeText(text);
          toast('Copied to the clipboard.', 'ok');
        } catch (_) {
          const ta = h('textarea', { class: 'offscreen', value: text, attrs: { 'aria-hidden': 'true' } });
          document.body.append(ta);
          ta.select();
          const ok = document.execCommand && document.execCommand('copy');
          ta.remove();
          toast(ok ? 'Copied to the clipboard.' : 'Copy failed: select the text and copy it.', ok ? 'ok' : 'error');
        }
      },
    },
  });
  return b;
}

// pager({next, onNext, prev, onPrev}): "Next page" / "Previous page" buttons.
export function pager({ hasNext, onNext, hasPrev, onPrev, nextLabel = 'Next page', prevLabel = 'Previous page' }) {
  return h(
    'div',
    { class: 'pager' },
    onPrev ? h('button', { type: 'button', class: 'btn', text: prevLabel, disabled: !hasPrev, on: { click: onPrev } }) : null,
    onNext ? h('button', { type: 'button', class: 'btn', text: nextLabel, disabled: !hasNext, on: { click: onNext } }) : null,
  );
}

// busy(el, promise): marks el busy (aria-busy, disabled button) until the promise settles.
export async function busy(el, promise) {
  el.setAttribute('aria-busy', 'true');
  const wasDisabled = el.disabled;
  if ('disabled' in el) el.disabled = true;
  try {
    return await promise;
  } finally {
    el.removeAttribute('aria-busy');
    if ('disabled' in el) el.disabled = wasDisabled;
  }
}

// errorText(e): what to show the user for a failed call.
export function errorText(e) {
  if (e && e.message) return e.message;
  return String(e);
}

// errorBox(e): an alert paragraph for a failed load inside a page.
export function errorBox(e, what = 'Could not load') {
  return h('p', { class: 'error', attrs: { role: 'alert' }, text: `${what}: ${errorText(e)}` });
}
