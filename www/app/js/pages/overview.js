// overview.js: balance, what is set aside, spend today and this month, the test-mode sandbox
// when the user has test keys, the last 30 days by model (GET /user/usage/summary) and the
// latest requests.
import { api } from '../api.js';
import { h, usd, when, table, errorBox } from '../ui.js';
import { stackedBars } from '../chart.js';

function stat(label, value) {
  return h('div', { class: 'stat' }, h('dt', { text: label }), h('dd', { text: value }));
}

// settle(promise): {ok, v} or {ok: false, e}, so one failed call leaves the rest of the page
async function settle(p) {
  try {
    return { ok: true, v: await p };
  } catch (e) {
    return { ok: false, e };
  }
}

// the UTC days from..to inclusive, "YYYY-MM-DD"
function dayRange(from, to) {
  const out = [];
  const d = new Date(`${from.slice(0, 10)}T00:00:00Z`);
  const end = new Date(`${to.slice(0, 10)}T00:00:00Z`);
  for (let i = 0; d <= end && i < 400; i += 1) {
    out.push(d.toISOString().slice(0, 10));
    d.setUTCDate(d.getUTCDate() + 1);
  }
  return out;
}

function chart(box, sum) {
  const last = new Date();
  const first = new Date(last.getTime() - 29 * 86400000);
  const days = dayRange(sum.from || first.toISOString(), sum.to || last.toISOString()).slice(-31);
  const series = {};
  for (const r of sum.by_day || []) {
    const i = days.indexOf(r.day);
    if (i < 0) continue;
    if (!series[r.model]) series[r.model] = days.map(() => '0');
    series[r.model][i] = r.cost;
  }
  if (Object.keys(series).length === 0) {
    box.append(h('p', { class: 'empty', text: 'No spending in the last 30 days.' }));
    return;
  }
  stackedBars(box, days, series, {
    caption: 'Spend per day and model, last 30 days (USD)',
    format: (v) => `$${v < 1 && v > 0 ? Number(v.toPrecision(2)) : v.toFixed(2)}`,
    cell: (raw) => usd(raw),
  });
  if (sum.totals) box.append(h('p', { class: 'muted', text: `${sum.totals.requests} request${sum.totals.requests === 1 ? '' : 's'}, ${sum.totals.total_tokens} tokens, ${usd(sum.totals.cost)} in this period.` }));
}

// Test mode (issue 18): the sandbox gw_test_ keys pay from, shown when the user has one
// (GET /user/sandbox gives it its day's grant, so it is not asked for without test keys).
async function sandbox(root) {
  const keys = await settle(api('GET', '/user/api-keys'));
  if (!keys.ok || !(keys.v.data || []).some((k) => k.mode === 'test')) return;
  const sb = await settle(api('GET', '/user/sandbox'));
  const box = h('section', { attrs: { 'aria-labelledby': 'ov-sandbox' } }, h('h2', { id: 'ov-sandbox', text: 'Sandbox (test keys)' }));
  root.append(box);
  if (!sb.ok) {
    box.append(errorBox(sb.e, 'Sandbox'));
    return;
  }
  box.append(
    h('dl', { class: 'stats', attrs: { 'aria-label': 'Sandbox figures' } }, stat('Sandbox balance', usd(sb.v.balance)), stat('Sandbox reserved', usd(sb.v.reserved)), stat('Daily grant', usd(sb.v.daily_grant))),
    h('p', { class: 'muted', text: 'Test keys (gw_test_) spend this sandbox, never your credits; it is refilled to the daily grant on its first use each day (UTC).' }),
  );
}

export default {
  id: 'overview',
  title: 'Overview',
  admin: false,
  async render(root) {
    root.append(h('h1', { text: 'Overview' }));
    const [bal, mon, sum, recent] = await Promise.all([
      settle(api('GET', '/user/balance')),
      settle(api('GET', '/user/monitor')),
      settle(api('GET', '/user/usage/summary?mode=live')),
      settle(api('GET', '/user/usage?limit=10')),
    ]);
    for (const r of [bal, mon]) if (!r.ok && r.e.status === 401) throw r.e;

    const stats = h('dl', { class: 'stats', attrs: { 'aria-label': 'Account figures' } });
    if (bal.ok) {
      stats.append(stat('Balance', usd(bal.v.balance)), stat('Reserved', usd(bal.v.reserved)), stat('Available', usd(bal.v.available)));
    }
    if (mon.ok) {
      const m = mon.v.usage_metrics || {};
      stats.append(stat('Spend today', usd(m.cost_today)), stat('Spend this month', usd(m.cost_this_month)), stat('Requests this month', String(m.requests_this_month ?? '—')));
    }
    root.append(stats);
    if (!bal.ok) root.append(errorBox(bal.e, 'Balance'));
    if (!mon.ok) root.append(errorBox(mon.e, 'Spend figures'));
    await sandbox(root);

    const box = h('section', { attrs: { 'aria-labelledby': 'ov-chart' } }, h('h2', { id: 'ov-chart', text: 'Last 30 days' }));
    root.append(box);
    if (sum.ok) chart(box, sum.v);
    else if (sum.e.status === 404) box.append(h('p', { class: 'empty', text: 'The spending chart needs a newer server (GET /user/usage/summary).' }));
    else box.append(errorBox(sum.e, 'Spending by day'));

    const rec = h('section', { attrs: { 'aria-labelledby': 'ov-recent' } }, h('h2', { id: 'ov-recent', text: 'Recent requests' }));
    root.append(rec);
    if (!recent.ok) {
      rec.append(errorBox(recent.e, 'Recent requests'));
      return;
    }
    rec.append(
      table({
        caption: 'The last 10 requests',
        empty: 'No requests yet. Create a key on the Keys page and send one.',
        rows: recent.v.data || [],
        columns: [
          { label: 'Time', get: (r) => when(r.created_at) },
          { label: 'Model', get: (r) => r.model },
          { label: 'Key', get: (r) => r.key_id },
          { label: 'Tokens', num: true, get: (r) => String(r.total_tokens) },
          { label: 'Cost', num: true, get: (r) => usd(r.cost) },
          { label: 'Status', get: (r) => (r.status === 'ok' ? 'ok' : `${r.status} ${r.http_status}`) },
        ],
      }),
      h('p', null, h('a', { href: '#/usage', text: 'Every request, with filters' })),
    );
  },
};
