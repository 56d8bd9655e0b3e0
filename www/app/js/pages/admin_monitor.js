// admin_monitor.js: the admin's System page: figures of /admin/monitor and /api/status
// SPDX-License-Identifier: MIT
import {api} from '../api.js';
import {errText, refused} from './admin_common.js';
import {h, table, usd, when} from '../ui.js';


function figures(pairs) {
  return h('dl', {class: 'stats'}, pairs.map(([k, v]) => h('div', {class: 'stat'}, h('dt', {text: k}), h('dd', {}, v))));
}

export default {
  id: 'admin-system',
  title: 'System',
  admin: true,
  async render(root, ctx) {
    if (refused(root, ctx, 'System')) return;
    const body = h('div', {});
    const refresh = h('button', {class: 'btn', text: 'Refresh', attrs: {type: 'button'}});
    root.append(h('h1', {text: 'System'}), h('div', {class: 'row-actions'}, refresh), body);

    async function load() {
      let m;
      let s;
      try {
        [m, s] = await Promise.all([api('GET', '/admin/monitor'), api('GET', '/api/status')]);
      } catch (e) {
        body.replaceChildren(h('p', {class: 'error', attrs: {role: 'alert'}, text: 'Figures not loaded: ' + errText(e)}));
        return;
      }
      body.replaceChildren(
        h('section', {class: 'card', attrs: {'aria-labelledby': 'sys-acc'}},
          h('h2', {text: 'Accounts and money', attrs: {id: 'sys-acc'}}),
          figures([
            ['Users', String(m.users)], ['Active users', String(m.active_users)],
            ['API keys', String(m.keys)], ['Active keys', String(m.active_keys)],
            ['Credit held by users', usd(m.total_balance)], ['Reserved by requests in flight', usd(m.total_reserved)],
            ['As of', m.timestamp ? when(m.timestamp) : when(new Date().toISOString())],
          ])),
        h('section', {class: 'card', attrs: {'aria-labelledby': 'sys-up'}},
          h('h2', {text: 'Upstream keys', attrs: {id: 'sys-up'}}),
          figures([
            ['Status', h('span', {class: 'badge ' + (s.status === 'ok' ? 'ok' : 'off'), text: s.status})],
            ['Keys', String(s.totalKeys)], ['Available', String(s.availableKeys)],
            ['Requests today', String(s.totalDailyUsage)],
          ]),
          table({
            caption: 'Each upstream key as this node sees it',
            empty: 'No upstream key.',
            rows: s.keys || [],
            columns: [
              {label: 'Provider', get: (k) => k.provider},
              {label: 'Key', get: (k) => h('code', {text: k.key})},
              {label: 'Available', get: (k) => (k.available ? 'yes' : 'no')},
              {label: 'Today', num: true, get: (k) => String(k.dailyUsage) + (k.dailyLimit !== null && k.dailyLimit !== undefined ? ' / ' + k.dailyLimit : '')},
              {label: 'This minute', num: true, get: (k) => String(k.minuteUsage) + (k.minuteLimit !== null && k.minuteLimit !== undefined ? ' / ' + k.minuteLimit : '')},
              {label: 'Last used', get: (k) => (k.lastUsed ? when(k.lastUsed) : '—')},
              {label: 'Cool-down until', get: (k) => (k.cooldownUntil ? when(k.cooldownUntil) : '—')},
              {label: 'Last error', get: (k) => k.lastError || ''},
            ],
          })));
    }
    refresh.addEventListener('click', load);
    await load();
  },
};
