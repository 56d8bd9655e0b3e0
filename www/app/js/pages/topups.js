// topups.js: the account's balance, a form to redeem a code (POST /user/redeem), then its
// top-ups and adjustments (GET /user/topups), newest first, paged by cursor.
import { api, ApiError } from '../api.js';
import { h, usd, when, table, errorBox, field, toast, errorText } from '../ui.js';

const KIND = { topup: 'Top-up', adjust: 'Adjustment' };
const SOURCE = { admin: 'Admin', operator: 'Operator', code: 'Redeemed code', payment: 'Payment' };

function creditsTable(rows) {
  // The gateway may say the balance after each entry; a column only when it does.
  const after = rows.some((r) => r.balance_after != null);
  return table({
    caption: 'Top-ups and adjustments, newest first',
    empty: 'No top-up yet.',
    rows,
    columns: [
      { label: 'Time', get: (r) => when(r.at) },
      { label: 'Kind', get: (r) => KIND[r.kind] || r.kind },
      { label: 'Amount', get: (r) => usd(r.amount), num: true },
      after ? { label: 'Balance after', get: (r) => usd(r.balance_after), num: true } : null,
      { label: 'Note', get: (r) => r.note },
      { label: 'From', get: (r) => (r.source ? SOURCE[r.source] || r.source : '') },
      { label: 'Reference', get: (r) => r.reference || '' },
    ].filter(Boolean),
  });
}

function failure(e, what) {
  if (e instanceof ApiError && e.status === 404) {
    return h('p', { class: 'muted', text: `${what}: not available on this gateway.` });
  }
  return errorBox(e, `${what} could not be loaded`);
}

// redeemForm(done): a code field and a button; done(answer) after a redemption.
function redeemForm(done) {
  const code = h('input', {
    type: 'text',
    name: 'code',
    maxLength: 64,
    autocomplete: 'off',
    attrs: { spellcheck: 'false', placeholder: 'XXXX-XXXX-XXXX-XXXX', required: '' },
  });
  const err = h('p', { class: 'error', attrs: { role: 'alert' } });
  const go = h('button', { type: 'submit', class: 'btn primary', text: 'Redeem' });
  const form = h(
    'form',
    { class: 'card narrow redeem', attrs: { 'aria-labelledby': 'redeem-h' } },
    h('h2', { id: 'redeem-h', text: 'Redeem a code' }),
    field('Code', code, 'Case and dashes do not matter.'),
    err,
    h('div', { class: 'actions' }, go),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    go.disabled = true;
    try {
      const r = await api('POST', '/user/redeem', { code: code.value.trim() });
      form.reset();
      toast(`Redeemed ${usd(r.amount)}; the balance is ${usd(r.balance)}.`, 'ok');
      await done(r);
    } catch (e) {
      err.textContent = errorText(e);
    } finally {
      go.disabled = false;
    }
  });
  return form;
}

export default {
  id: 'topups',
  title: 'Top-ups',
  admin: false,
  async render(root) {
    root.append(h('h1', { text: 'Top-ups' }));
    const item = (k, v) => h('div', { class: 'stat' }, h('dt', { text: k }), h('dd', { text: v }));
    const bal = h('dl', { class: 'stats balance' });
    root.append(bal);
    const showBalance = () =>
      api('GET', '/user/balance').then(
        (b) => bal.replaceChildren(item('Balance', usd(b.balance)), item('Reserved', usd(b.reserved))),
        (e) => bal.replaceChildren(failure(e, 'The balance')),
      );
    root.append(redeemForm(() => Promise.all([showBalance(), page(null)])));
    const wrap = h('div');
    const newest = h('button', { type: 'button', class: 'btn', text: 'Newest', disabled: true });
    const next = h('button', { type: 'button', class: 'btn', text: 'Next page', disabled: true });
    root.append(h('section', { attrs: { 'aria-labelledby': 'topups-list' } }, h('h2', { id: 'topups-list', text: 'History' }), wrap, h('div', { class: 'pager' }, newest, next)));

    let cursor = null;
    const page = async (c) => {
      next.disabled = true;
      const p = new URLSearchParams({ limit: '50' });
      if (c) p.set('cursor', c);
      try {
        const r = await api('GET', `/user/topups?${p}`);
        wrap.replaceChildren(creditsTable(r.data || []));
        cursor = r.next_cursor || null;
        next.disabled = !cursor;
        newest.disabled = !c;
      } catch (e) {
        wrap.replaceChildren(failure(e, 'The top-up history'));
      }
    };
    next.addEventListener('click', () => cursor && page(cursor));
    newest.addEventListener('click', () => page(null));
    await Promise.all([showBalance(), page(null)]);
  },
};
