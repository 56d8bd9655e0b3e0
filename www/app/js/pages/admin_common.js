// admin_common.js: what the four admin pages share (not a page of its own)
// SPDX-License-Identifier: MIT
import {ApiError} from '../api.js';
import {h} from '../ui.js';

// errText: an API error as the admin should read it: the message and its code.
export function errText(e) {
  return e instanceof ApiError ? e.message + (e.code ? ' (' + e.code + ')' : '') : String((e && e.message) || e);
}

// refused: true (and the page says why) when the signed-in user is no admin. The router
// hides the admin pages from them; this covers a typed #/admin-... link, and the API refuses
// them anyway (403), so nothing is fetched.
export function refused(root, ctx, title) {
  if (ctx && ctx.user && ctx.user.role === 'admin') return false;
  root.append(h('h1', {text: title}),
    h('p', {class: 'error', attrs: {role: 'alert'}, text: 'This page is for administrators. Your account has no access to it.'}));
  return true;
}
