// admin.mjs: the admin pages and the API reference in Chromium (run by t_dashboard_admin.sh)
// SPDX-License-Identifier: MIT
//
// env: TOLLGATE_URL, TOLLGATE_APP (lib/browser.sh), ADMIN_EMAIL, ADMIN_PASSWORD, USER_EMAIL,
// USER_PASSWORD, USER_KEY (an API key of the user, for Swagger UI's try-it-out).
// Prints `ok - ...` / `not ok - ...` lines; t_dashboard_admin.sh turns them into checks.
import {mkdirSync} from 'node:fs';
import path from 'node:path';
import {launch, closeAll, check, done, checkAxe, shot, shots, expectNoErrors, app as APP, base as BASE} from './lib.mjs';

// The API reference pages run to many screens: a shot of the viewport (a full-page one of
// /redoc/ outlasted playwright's 30 s on a busy machine).
async function viewShot(page, name) {
  mkdirSync(shots, {recursive: true});
  await page.screenshot({path: path.join(shots, name + '.png'), timeout: 60000});
}

const env = (k) => {
  if (!process.env[k]) throw new Error('admin.mjs needs ' + k);
  return process.env[k];
};

// usdText("15.500000000") -> "$15.50": how ui.js's usd() shows a balance (whole cents here).
function usdText(s) {
  const [i, f = ''] = s.split('.');
  return '$' + i.replace(/\B(?=(\d{3})+(?!\d))/g, ',') + '.' + (f + '00').slice(0, 2);
}

// expect(desc, fn): one check line: ok unless fn throws or returns false.
async function expect(desc, fn) {
  try {
    const r = await fn();
    return check(r !== false, desc);
  } catch (e) {
    return check(false, desc + ': ' + String(e && e.message).split('\n')[0]);
  }
}

// signInApi(s, email, password): signs in by POST /auth/login {cookie: true} from the page's
// context (the cookie lands in that context), then opens Overview. The sign-in form is
// t_dashboard's to test; here it is only the way in.
async function signInApi(s, email, password) {
  const r = await s.page.request.post(BASE + '/auth/login', {data: {email, password, cookie: true}});
  if (r.status() !== 200) throw new Error('POST /auth/login ' + r.status());
  await s.page.goto(APP + '#/overview');
  await s.page.getByRole('heading', {level: 1, name: 'Overview'}).waitFor({timeout: 15000});
}

async function balance(page) {
  const r = await page.request.get(BASE + '/user/balance');
  if (r.status() !== 200) throw new Error('GET /user/balance ' + r.status());
  return (await r.json()).balance;
}

// Two browser contexts: the user's and the admin's, each with its own cookie and errors.
const user = await launch();
const admin = await launch({browser: user.browser});
const up = user.page;
const ap = admin.page;

try {
  // --- the user: no admin pages, and the API says 403 ---------------------------------------
  await expect('the user signs in', () => signInApi(user, env('USER_EMAIL'), env('USER_PASSWORD')));
  const nav = up.getByRole('navigation');
  await expect('the user sees the Overview nav link', async () => (await nav.getByRole('link', {name: 'Overview'}).count()) > 0);
  for (const name of ['Users', 'Providers', 'Audit log', 'System']) {
    await expect('a non-admin has no "' + name + '" link', async () => (await nav.getByRole('link', {name, exact: true}).count()) === 0);
  }
  await up.goto(APP + '#/admin-users');
  // The page says it is for administrators and fetches nothing (admin_common.js refused()).
  await expect('a non-admin at #/admin-users is told the page is for administrators', async () => {
    await up.getByRole('alert').filter({hasText: 'for administrators'}).waitFor({timeout: 15000});
    return (await up.getByRole('heading', {level: 1, name: 'Users'}).count()) === 1 &&
      (await up.getByRole('button', {name: 'Add credits'}).count()) === 0 &&
      (await up.getByRole('table').count()) === 0;
  });
  await shot(up, 'admin-refused');
  await expect('the API answers the non-admin 403 (GET /admin/users with the session cookie)', async () => {
    const r = await up.request.get(BASE + '/admin/users');
    const j = await r.json();
    return r.status() === 403 && j.error && j.error.code === 'insufficient_permissions';
  });
  const before = await balance(up);
  await up.goto(APP + '#/overview');
  await up.getByRole('heading', {level: 1, name: 'Overview'}).waitFor();

  // --- the admin adds credits on the Users page ---------------------------------------------
  await expect('the admin signs in', () => signInApi(admin, env('ADMIN_EMAIL'), env('ADMIN_PASSWORD')));
  for (const name of ['Users', 'Providers', 'Audit log', 'System']) {
    await expect('the admin has the "' + name + '" link', async () => (await ap.getByRole('navigation').getByRole('link', {name, exact: true}).count()) === 1);
  }
  await ap.getByRole('navigation').getByRole('link', {name: 'Users', exact: true}).click();
  await expect('Users has one h1 "Users"', async () => {
    await ap.getByRole('heading', {level: 1, name: 'Users'}).waitFor();
    return (await ap.locator('h1').count()) === 1;
  });
  await ap.getByRole('searchbox', {name: 'Search'}).fill(env('USER_EMAIL'));
  await ap.getByRole('button', {name: 'Search', exact: true}).click();
  const row = ap.getByRole('row').filter({hasText: env('USER_EMAIL')});
  await expect('the search finds the user (one row)', async () => {
    await row.first().waitFor({timeout: 15000});
    return (await row.count()) === 1;
  });
  await checkAxe(ap, 'Users');
  await shot(ap, 'admin-users');
  await row.getByRole('button', {name: 'Add credits'}).click();
  const dlg = ap.getByRole('dialog');
  await dlg.getByLabel('Amount (USD)').fill('12.50');
  await dlg.getByLabel('Note').fill('browser test top-up');
  await checkAxe(ap, 'the Add credits dialog');
  await shot(ap, 'admin-add-credits');
  await dlg.getByRole('button', {name: 'Add', exact: true}).click();
  await expect('the dialog closes and a notice names the new balance', async () => {
    await dlg.waitFor({state: 'detached', timeout: 15000}).catch(() => dlg.waitFor({state: 'hidden', timeout: 1000}));
    await ap.getByText(/Added 12\.5/).first().waitFor({timeout: 15000});
  });

  // --- the user's balance moved, by exactly that amount --------------------------------------
  const after = await balance(up);
  check(Math.round((Number(after) - Number(before)) * 1e6) === 12500000,
    'the user\'s balance moved by 12.50 USD (API: ' + before + ' -> ' + after + ')');
  await up.reload();
  await up.getByRole('heading', {level: 1, name: 'Overview'}).waitFor();
  await expect('the user\'s Overview shows the new balance ' + usdText(after), async () => {
    await up.locator('main').getByText(usdText(after)).first().waitFor({timeout: 15000});
  });
  await shot(up, 'admin-user-overview-after');

  // --- Audit log: the row is there and the chain verifies -------------------------------------
  await ap.getByRole('navigation').getByRole('link', {name: 'Audit log', exact: true}).click();
  await ap.getByRole('heading', {level: 1, name: 'Audit log'}).waitFor();
  await ap.getByLabel('Action').fill('credits.add');
  await ap.getByRole('button', {name: 'Apply'}).click();
  await expect('the audit log lists the credits.add row', async () => {
    await ap.getByRole('cell', {name: 'credits.add'}).first().waitFor({timeout: 15000});
  });
  await ap.getByRole('button', {name: 'Verify chain'}).click();
  await expect('Verify chain says the chain is ok', async () => {
    await ap.getByText(/Audit chain ok: \d+ rows/).waitFor({timeout: 20000});
  });
  await checkAxe(ap, 'Audit log');
  await shot(ap, 'admin-audit');

  // --- Providers and System ------------------------------------------------------------------
  await ap.getByRole('navigation').getByRole('link', {name: 'Providers', exact: true}).click();
  await ap.getByRole('heading', {level: 1, name: 'Providers'}).waitFor();
  await expect('Providers lists the mock provider with its key\'s health and circuit', async () => {
    await ap.getByRole('heading', {level: 2}).first().waitFor({timeout: 15000});
    await ap.getByRole('columnheader', {name: 'Circuit'}).first().waitFor();
    return (await ap.getByText('healthy').count()) > 0;
  });
  const mock = ap.locator('section.provider').filter({has: ap.getByRole('heading', {level: 2, name: 'Mock provider', exact: true})});
  await mock.getByRole('button', {name: 'Add key', exact: true}).click();
  const kd = ap.getByRole('dialog');
  const secret = 'sk-browser-test-' + Date.now() + '-secret';
  await kd.getByLabel('Label').fill('browser');
  await expect('the upstream secret is typed into a password input', async () =>
    (await kd.getByLabel('Secret key').getAttribute('type')) === 'password');
  await kd.getByLabel('Secret key').fill(secret);
  await checkAxe(ap, 'the Add key dialog');
  await kd.getByRole('button', {name: 'Add key', exact: true}).click();
  await expect('the new upstream key is listed (healthy) and its secret is shown nowhere', async () => {
    const row = mock.getByRole('row').filter({hasText: 'browser'});
    await row.first().waitFor({timeout: 15000});
    await row.getByText('healthy').waitFor();
    return !(await ap.content()).includes(secret);
  });
  await mock.getByRole('row').filter({hasText: 'browser'}).getByRole('button', {name: 'Disable'}).click();
  await expect('Disable turns the key\'s health to disabled', async () => {
    await mock.getByRole('row').filter({hasText: 'browser'}).getByText('disabled').waitFor({timeout: 15000});
  });
  await checkAxe(ap, 'Providers');
  await shot(ap, 'admin-providers');
  await ap.getByRole('navigation').getByRole('link', {name: 'System', exact: true}).click();
  await ap.getByRole('heading', {level: 1, name: 'System'}).waitFor();
  await expect('System shows the users count and the upstream status', async () => {
    await ap.getByText('Active users').waitFor({timeout: 15000});
    await ap.getByText('Requests today').waitFor();
  });
  await checkAxe(ap, 'System');
  await shot(ap, 'admin-system');

  // --- a phone in dark mode: the admin pages still pass axe ----------------------------------
  const phone = await launch({browser: user.browser, colorScheme: 'dark', width: 390, height: 844});
  await expect('the admin signs in on a phone (dark)', () => signInApi(phone, env('ADMIN_EMAIL'), env('ADMIN_PASSWORD')));
  for (const [id, title] of [['admin-users', 'Users'], ['admin-providers', 'Providers'], ['admin-audit', 'Audit log'], ['admin-system', 'System']]) {
    await phone.page.goto(APP + '#/' + id);
    await phone.page.getByRole('heading', {level: 1, name: title, exact: true}).waitFor({timeout: 15000});
    await phone.page.locator('main table, main .empty, main .error').first().waitFor({timeout: 15000});
    await checkAxe(phone.page, title + ' on a phone, dark');
    await shot(phone.page, 'admin-phone-dark-' + id);
  }
  expectNoErrors(phone, 'the phone\'s browser');

  // --- /docs and /redoc ----------------------------------------------------------------------
  for (const p of ['docs', 'redoc']) {
    await expect('/' + p + ' (no slash) redirects to /' + p + '/', async () => {
      const r = await ap.request.get(BASE + '/' + p, {maxRedirects: 0});
      const loc = r.headers()['location'] || '';
      if (![301, 302, 308].includes(r.status()) || !loc.endsWith('/' + p + '/')) throw new Error(r.status() + ' ' + loc);
    });
  }
  const spec = await (await ap.request.get(BASE + '/openapi.json')).json();
  const ops = Object.values(spec.paths).flatMap((item) => Object.keys(item).filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m)));
  const tags = [...new Set(Object.values(spec.paths).flatMap((item) => Object.values(item).map((op) => (op.tags && op.tags[0]) || 'other')))];

  await ap.goto(BASE + '/docs/');
  await expect('/docs/ renders Swagger UI with every operation', async () => {
    await ap.locator('.opblock').first().waitFor({timeout: 30000});
    const n = await ap.locator('.opblock').count();
    if (n !== ops.length) throw new Error(n + ' operations shown, the spec has ' + ops.length);
  });
  await ap.getByRole('button', {name: /Authorize/}).first().click();
  await ap.locator('.auth-container').first().locator('input').fill(env('USER_KEY'));
  // The modal's Authorize button (Swagger UI labels it "Apply credentials"; docs.js renames it).
  await ap.locator('.auth-container').first().locator('button.authorize').click();
  await ap.locator('.modal-ux .btn-done, .modal-ux button.close-modal').first().click();
  const models = ap.locator('.opblock').filter({has: ap.locator('[data-path="/v1/models"]')}).first();
  await models.locator('.opblock-summary').first().click();
  await models.getByRole('button', {name: 'Try it out'}).click();
  await models.getByRole('button', {name: 'Execute'}).click();
  await expect('try-it-out with the key calls /v1/models and shows 200', async () => {
    const cell = models.locator('.live-responses-table tbody .response-col_status').first();
    await cell.waitFor({timeout: 20000});
    const t = (await cell.textContent()).trim();
    if (!t.startsWith('200')) throw new Error('status cell: ' + t);
    const url = await models.locator('.request-url').first().textContent();
    if (!url.includes(new URL(BASE).host + new URL(BASE).pathname.replace(/\/$/, '') + '/v1/models')) throw new Error('request URL ' + url);
  });
  await checkAxe(ap, '/docs/');
  await viewShot(ap, 'docs');

  await ap.goto(BASE + '/redoc/');
  await expect('/redoc/ renders every tag and every operation', async () => {
    await ap.locator('article.op').first().waitFor({timeout: 15000});
    const shown = await ap.locator('section.tag > h2').allTextContents();
    const missing = tags.filter((t) => !shown.includes(t));
    const n = await ap.locator('article.op').count();
    if (missing.length || n !== ops.length) throw new Error('missing tags ' + missing + '; ' + n + ' of ' + ops.length + ' operations');
  });
  await ap.getByLabel('Search').fill('add_credits');
  await expect('/redoc/ search narrows to the matching operation', async () => {
    const n = await ap.locator('article.op:not(.hidden)').count();
    if (n !== 1) throw new Error(n + ' shown');
  });
  await ap.getByLabel('Search').fill('');
  await checkAxe(ap, '/redoc/');
  await viewShot(ap, 'redoc');
} catch (e) {
  check(false, 'the scenario ran to its end: ' + String(e && e.message).split('\n')[0]);
}

expectNoErrors(user, 'the user\'s browser');
expectNoErrors(admin, 'the admin\'s browser');
await closeAll();
done();
