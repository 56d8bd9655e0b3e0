// dashboard.mjs: the dashboard's own pages in chromium (run by tests/integ/t_dashboard.sh):
// sign up (primary key shown once), sign out, sign in, overview figures, keys (a restricted
// key made through the form and shown once, rotate with grace, disable, enable, revoke), the
// CSRF token required, the account page (password change), axe on each page, screenshots of
// each page light/dark x desktop/390 px, no offsite request and no console error anywhere.
//
// Environment: TOLLGATE_APP, TOLLGATE_URL (lib.mjs), DASH_EMAIL, DASH_PW, DASH_PW2 (the new
// password), ADMIN_KEY (an admin's key, to fund the user), COOKIE_FILE (where the session
// cookie is left for the shell's curl check).
import { writeFileSync } from 'node:fs';
import { app, base, check, step, done, launch, close, closeAll, expectNoErrors, checkAxe, shot, signIn, gotoPage } from './lib.mjs';

const email = process.env.DASH_EMAIL;
const pw = process.env.DASH_PW;
const pw2 = process.env.DASH_PW2;
const adminKey = process.env.ADMIN_KEY;
const KEY_RE = /^gw_(live|test|staging|dev)_[A-Za-z0-9]{38}$/;

// No failed load is expected: a signed-out page's GET /auth/session is a 200 with user null.
const EXPECTED = [];

// call(method, path, key, body): the API with a key, outside the browser.
async function call(method, path, key, body) {
	const r = await fetch(`${base}${path}`, {
		method,
		headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	let j = null;
	try {
		j = await r.json();
	} catch (_) {
		/* 204 */
	}
	return { status: r.status, body: j };
}

const s = await launch();
const { page } = s;
let userKey = null;

await step('sign-up', async () => {
	await page.goto(app);
	await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
	check(true, 'signed out, /app/ shows the sign-in page');
	check((await page.getByRole('navigation').getByRole('link').count()) === 0, 'signed out: no nav links');
	await checkAxe(page, 'sign-in page');
	await page.getByRole('button', { name: 'Create an account' }).click();
	await page.getByRole('heading', { level: 1, name: 'Create an account' }).waitFor();
	await checkAxe(page, 'sign-up page');
	await page.getByRole('textbox', { name: 'Email' }).fill(email);
	await page.getByLabel('Password', { exact: true }).fill(pw);
	check(await page.getByRole('textbox', { name: 'Invite code' }).isVisible(), 'sign-up has an optional "Invite code" field (registration open)');
	await page.getByRole('button', { name: 'Create account' }).click();
	await page.getByRole('heading', { level: 1, name: 'Account created' }).waitFor();
	userKey = (await page.locator('.secret').textContent()).trim();
	check(KEY_RE.test(userKey), 'sign-up shows the primary key once, in .secret');
	check(await page.getByRole('button', { name: 'Copy' }).isVisible(), 'the key has a Copy button');
	const r = await call('GET', '/user/balance', userKey);
	check(r.status === 200, `the shown primary key works (GET /user/balance ${r.status})`);
	await page.getByRole('button', { name: 'Continue to the dashboard' }).click();
	await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
	check(true, 'after sign-up the user is signed in (Overview)');
	const nav = page.getByRole('navigation', { name: 'Main' });
	for (const l of ['Overview', 'Keys', 'Usage', 'Models', 'Playground', 'Top-ups', 'Account']) {
		check((await nav.getByRole('link', { name: l, exact: true }).count()) === 1, `nav has "${l}"`);
	}
	for (const l of ['Users', 'Providers', 'Audit log', 'System']) {
		check((await nav.getByRole('link', { name: l, exact: true }).count()) === 0, `a user's nav has no admin link "${l}"`);
	}
	await page.reload();
	await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
	check((await page.locator('.secret').count()) === 0 && !(await page.content()).includes(userKey), 'after a reload the primary key is nowhere on the page');
	expectNoErrors(s, 'sign-up', { allow: EXPECTED });
});

await step('sign out and in', async () => {
	await page.getByRole('button', { name: 'Sign out', exact: true }).click();
	await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
	const r = await page.evaluate(async (m) => { const x = await fetch(`${m}auth/session`); return `${x.status} ${JSON.stringify((await x.json()).user)}`; }, new URL(app).pathname.replace(/app\/$/, ''));
	check(r === '200 null', `after Sign out GET /auth/session says nobody is signed in (${r})`);
	await page.getByRole('textbox', { name: 'Email' }).fill(email);
	await page.getByLabel('Password', { exact: true }).fill('wrong-password-123');
	await page.getByRole('button', { name: 'Sign in', exact: true }).click();
	await page.getByRole('alert').filter({ hasText: 'Wrong email or password' }).waitFor();
	check(true, 'a wrong password says so (role=alert)');
	await signIn(page, app, email, pw);
	check(true, 'sign in with the form lands on Overview');
	expectNoErrors(s, 'sign in', { allow: [...EXPECTED, /status of 401 .*\/auth\/login\b/] });
});

await step('overview', async () => {
	const f = await call('POST', '/admin/add_credits', adminKey, { email, amount_usd: '5.00', note: 't_dashboard' });
	check(f.status === 200, `the admin funds the user with $5.00 (${f.status})`);
	const c = await call('POST', '/v1/chat/completions', userKey, { model: 'test/cheap', messages: [{ role: 'user', content: 'hello dashboard' }] });
	check(c.status === 200, `a chat with the primary key (${c.status})`);
	const u = await call('GET', '/user/usage?limit=1', userKey);
	const rec = u.body?.data?.[0];
	const b = await call('GET', '/user/balance', userKey);
	check(Boolean(rec) && rec.model === 'test/cheap' && /^0\.\d+$/.test(rec.cost) && rec.cost !== '0.00', `the request is recorded with a cost (${rec?.cost})`);
	await gotoPage(page, app, 'overview', 'Overview', { fresh: true });
	const stat = (label) => page.locator('.stat').filter({ has: page.locator('dt', { hasText: new RegExp(`^${label}$`) }) }).locator('dd');
	await stat('Balance').waitFor();
	// the page formats the API's strings; the expected text is formatted by the same rule
	const fmt = await page.evaluate(async ([appUrl, v]) => (await import(`${appUrl}js/ui.js`)).usd(v), [app, b.body.balance]);
	const fmtCost = await page.evaluate(async ([appUrl, v]) => (await import(`${appUrl}js/ui.js`)).usd(v), [app, rec.cost]);
	check(/^\$4\.9\d+$/.test(fmt) && fmt === `$${b.body.balance.replace(/0+$/, '')}`, `the balance after the request is just under $5, shown to the last digit (${b.body.balance} as ${fmt})`);
	check((await stat('Balance').textContent()) === fmt, `Balance shows ${fmt} (${await stat('Balance').textContent()})`);
	check((await stat('Reserved').textContent()) === '$0.00', 'Reserved shows $0.00');
	check((await stat('Spend today').textContent()) === fmtCost, `Spend today shows the request's cost ${fmtCost} (${await stat('Spend today').textContent()})`);
	check((await stat('Spend this month').textContent()) === fmtCost, `Spend this month shows ${fmtCost}`);
	const recent = page.getByRole('region', { name: 'The last 10 requests' });
	const rtext = await recent.textContent();
	check(rtext.includes('test/cheap') && rtext.includes(fmtCost) && rtext.includes(String(rec.total_tokens)), `Recent requests lists it: model, tokens, cost (${rtext.slice(0, 200)})`);
	const chart = page.getByRole('region', { name: 'Last 30 days' });
	if ((await chart.locator('figure').count()) > 0) {
		const cells = await chart.locator('table td').allTextContents();
		check(cells.includes(fmtCost), `the 30-day chart's table has today's cost (${cells.filter((x) => x !== '$0.00')})`);
	} else {
		check(/needs a newer server/.test(await chart.textContent()), 'without /user/usage/summary the chart says why it is missing');
	}
	check((await page.locator('h1').count()) === 1, 'Overview has exactly one h1');
	await checkAxe(page, 'overview');
	expectNoErrors(s, 'overview', { allow: EXPECTED });
});

const row = () => page.getByRole('row').filter({ hasText: 'ci-restricted' });
let firstKey = null;
let rotated = null;
await step('keys: create a restricted key', async () => {
	await page.getByRole('link', { name: 'Keys', exact: true }).click();
	await page.getByRole('heading', { level: 1, name: 'Keys' }).waitFor();
	// the focus moves when the page has finished rendering (its data loaded)
	await page.locator('main:not([aria-busy])').waitFor();
	check((await page.evaluate(() => document.activeElement && document.activeElement.tagName)) === 'H1', 'navigating moves the focus to the page heading');
	await checkAxe(page, 'keys page');
	await page.getByRole('button', { name: 'Create key' }).click();
	const dlg = page.getByRole('dialog', { name: 'Create key' });
	await dlg.waitFor();
	check((await page.evaluate(() => document.activeElement && document.activeElement.closest('dialog') !== null)), 'the dialog takes the focus');
	await checkAxe(page, 'create key dialog');
	await dlg.getByLabel('Name', { exact: true }).fill('ci-restricted');
	await dlg.getByLabel('Environment').selectOption('test');
	check(await dlg.getByRole('checkbox', { name: 'read', exact: true }).isChecked(), '"read" is checked by default');
	check((await dlg.getByRole('checkbox', { name: 'admin', exact: true }).count()) === 0, 'a user is not offered "admin"');
	await dlg.getByRole('checkbox', { name: 'keys', exact: true }).uncheck();
	await dlg.getByLabel('Expires at').fill('2031-01-02T03:04');
	await dlg.getByLabel('Request cap').fill('100');
	await dlg.getByLabel('Credit limit (USD)').fill('1.50');
	await dlg.getByLabel('IP allowlist').fill('127.0.0.1\n10.0.0.0/8');
	await dlg.getByLabel('Models').fill('test/cheap');
	check(await dlg.getByLabel('Referrer allowlist').isVisible(), 'the form has "Referrer allowlist"');
	await shot(page, 'dashboard-keys-create-dialog');
	await dlg.getByRole('button', { name: 'Create', exact: true }).click();
	await page.locator('.secret').waitFor();
	firstKey = (await page.locator('.secret').textContent()).trim();
	check(/^gw_test_/.test(firstKey) && KEY_RE.test(firstKey), 'the new key is shown once in .secret (a gw_test_ key)');
	check((await page.getByRole('dialog').count()) === 0, 'the dialog closed');
	await page.getByRole('button', { name: 'Copy', exact: true }).click();
	const clip = await page.evaluate(() => navigator.clipboard.readText()).catch(() => null);
	check(clip === firstKey, 'Copy puts the key on the clipboard');
	const list = await call('GET', '/user/api-keys', userKey);
	const k = (list.body?.data || []).find((x) => x.name === 'ci-restricted');
	check(Boolean(k), 'the API lists the key made in the form');
	if (k) {
		check(k.environment === 'test', 'environment test');
		check(JSON.stringify(k.permissions) === '["read","write"]', `permissions read, write (${k.permissions})`);
		check(k.credit_limit === '1.50', `credit limit 1.50 (${k.credit_limit})`);
		check(k.max_requests === 100, 'request cap 100');
		check(JSON.stringify(k.ip_allowlist) === '["127.0.0.1","10.0.0.0/8"]', `ip allowlist one per line (${k.ip_allowlist})`);
		check(JSON.stringify(k.allowed_models) === '["test/cheap"]', 'models test/cheap');
		check(new Date(k.expires_at).getTime() === new Date(2031, 0, 2, 3, 4).getTime(), `expires at the local time given (${k.expires_at})`);
	}
	const text = await row().textContent();
	check(/models: test\/cheap/.test(text) && /\$1\.50/.test(text) && /0 of 100 requests/.test(text) && /10\.0\.0\.0\/8/.test(text), 'the row shows the restrictions');
	const use = await call('GET', '/user/balance', firstKey);
	check(use.status === 200, `the new key works from 127.0.0.1 (${use.status})`);
	await page.reload();
	await page.getByRole('heading', { level: 1, name: 'Keys' }).waitFor();
	await row().waitFor();
	check((await page.locator('.secret').count()) === 0 && !(await page.content()).includes(firstKey), 'after a reload the key is not shown again');
	await shot(page, 'dashboard-keys-row');
	expectNoErrors(s, 'keys create', { allow: EXPECTED });
});

await step('keys: rotate with grace', async () => {
	await row().getByRole('button', { name: /^Rotate/ }).click();
	const dlg = page.getByRole('dialog', { name: /^Rotate key/ });
	await dlg.waitFor();
	await dlg.getByLabel('Grace period (seconds)').fill('600');
	await dlg.getByRole('button', { name: 'Rotate', exact: true }).click();
	await page.locator('.secret').waitFor();
	rotated = (await page.locator('.secret').textContent()).trim();
	check(KEY_RE.test(rotated) && rotated !== firstKey, 'rotation shows a new key once');
	check(/works until/.test(await page.locator('.secret-box').textContent()), 'it says until when the old key works');
	const oldUse = await call('GET', '/user/balance', firstKey);
	const newUse = await call('GET', '/user/balance', rotated);
	check(oldUse.status === 200, `the old key works during the grace period (${oldUse.status})`);
	check(newUse.status === 200, `the new key works (${newUse.status})`);
	expectNoErrors(s, 'keys rotate', { allow: EXPECTED });
});

await step('keys: disable, enable, revoke', async () => {
	await row().getByRole('button', { name: /^Disable/ }).click();
	await row().getByText('disabled', { exact: true }).waitFor();
	let r = await call('GET', '/user/balance', rotated);
	check(r.status === 403 && r.body?.error?.code === 'key_disabled', `a disabled key is refused (${r.status} ${r.body?.error?.code})`);
	await row().getByRole('button', { name: /^Enable/ }).click();
	await row().getByText('active', { exact: true }).waitFor();
	r = await call('GET', '/user/balance', rotated);
	check(r.status === 200, `enabled again, it works (${r.status})`);
	await row().getByRole('button', { name: /^Revoke/ }).click();
	let dlg = page.getByRole('dialog', { name: 'Revoke key' });
	await dlg.waitFor();
	await checkAxe(page, 'revoke confirmation');
	await dlg.getByRole('button', { name: 'Cancel' }).click();
	check((await row().count()) === 1, 'Cancel keeps the key');
	check((await page.evaluate(() => document.activeElement?.textContent)) === 'Revoke', 'the focus returns to the Revoke button after the dialog');
	await row().getByRole('button', { name: /^Revoke/ }).click();
	dlg = page.getByRole('dialog', { name: 'Revoke key' });
	await dlg.getByRole('button', { name: 'Revoke', exact: true }).click();
	await row().waitFor({ state: 'detached' });
	check(true, 'the revoked key leaves the list');
	r = await call('GET', '/user/balance', rotated);
	check(r.status === 401, `a revoked key is refused (${r.status})`);
	const toast = await page.getByRole('status').textContent();
	check(/revoked/i.test(toast), 'the live region announces it');
	expectNoErrors(s, 'keys toggle/revoke', { allow: EXPECTED });
});

await step('CSRF', async () => {
	const before = (await call('GET', '/user/api-keys', userKey)).body?.data?.length;
	const res = await page.evaluate(async (mount) => {
		const r = await fetch(`${mount}/user/api-keys`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"csrf"}' });
		return { status: r.status, body: await r.json() };
	}, new URL(app).pathname.replace(/\/app\/$/, ''));
	check(res.status === 403 && res.body?.error?.code === 'csrf_failed', `a fetch from the page without X-CSRF-Token -> 403 csrf_failed (${res.status} ${res.body?.error?.code})`);
	const after = (await call('GET', '/user/api-keys', userKey)).body?.data?.length;
	check(before === after, `... and no key was made (${before} -> ${after})`);
	const cookie = (await s.context.cookies()).find((c) => c.name === 'tollgate_session');
	check(Boolean(cookie) && cookie.httpOnly && cookie.sameSite === 'Strict', 'the session cookie is HttpOnly, SameSite=Strict');
	check((await page.evaluate(() => document.cookie)).indexOf('tollgate_session') < 0, "the page's scripts cannot read the cookie");
	if (cookie && process.env.COOKIE_FILE) writeFileSync(process.env.COOKIE_FILE, cookie.value);
	expectNoErrors(s, 'CSRF', { allow: [...EXPECTED, /status of 403 .*\/user\/api-keys\b/] });
});

await step('account', async () => {
	await gotoPage(page, app, 'account', 'Account');
	check((await page.getByText(email, { exact: true }).count()) >= 1, 'the profile shows the email');
	await checkAxe(page, 'account page');
	await page.getByLabel('Current password').fill(pw);
	await page.getByLabel('New password', { exact: true }).fill(pw2);
	await page.getByLabel('Repeat the new password').fill(pw2);
	await page.getByRole('button', { name: 'Change password' }).click();
	await page.getByRole('status').filter({ hasText: 'Password changed' }).waitFor();
	check(true, 'the password change succeeds and says so');
	await gotoPage(page, app, 'overview', 'Overview');
	check(true, 'the session that changed the password stays signed in');
	expectNoErrors(s, 'account', { allow: EXPECTED });
});

// The shared helpers in the page itself (loaded as the app loads them, under the CSP): money
// from the API's decimal strings, and the chart's drawing and screen-reader table.
await step('ui.js usd and chart.js', async () => {
	const r = await page.evaluate(async (appUrl) => {
		const { usd } = await import(`${appUrl}js/ui.js`);
		const { stackedBars } = await import(`${appUrl}js/chart.js`);
		const cases = ['12.345000000', '0.000042000', '0.0000315', '1234567.5', '-3.00', '0.995', '9.999', '0', '0.001', '0.0100', '10.00', null];
		const div = document.createElement('div');
		stackedBars(div, ['2026-12-01', '2026-12-02', '2026-12-03'], { 'm/a': ['0.10', '0', '2.50'], 'm/b': ['1.000000001', '0.20', '0'] }, { caption: 'c', cell: usd });
		return {
			usd: cases.map((c) => usd(c)),
			rects: div.querySelectorAll('svg rect').length,
			cells: [...div.querySelectorAll('table tbody td')].map((td) => td.textContent),
			hidden: div.querySelector('svg').getAttribute('aria-hidden'),
		};
	}, app);
	// Exact: the API's digits, at least two decimals, never rounded.
	const want = ['$12.345', '$0.000042', '$0.0000315', '$1,234,567.50', '\u2212$3.00', '$0.995', '$9.999', '$0.00', '$0.001', '$0.01', '$10.00', '\u2014'];
	r.usd.forEach((got, i) => check(got === want[i], `usd(${i}): ${got} (want ${want[i]})`));
	check(r.rects === 4, `the chart draws one bar part per non-zero value (${r.rects})`);
	check(JSON.stringify(r.cells) === JSON.stringify(['$0.10', '$1.000000001', '$0.00', '$0.20', '$2.50', '$0.00']), `the chart's table shows the API's amounts (${r.cells})`);
	check(r.hidden === 'true', 'the SVG is hidden from screen readers (the table reads)');
});

// Screenshots and axe: each page, light and dark, desktop and a 390 px phone; a fresh
// context with the session cookie (the sign-in page without).
await step('screenshots', async () => {
	const cookies = await s.context.cookies();
	const pages = [
		['signin', 'Sign in'],
		['overview', 'Overview'],
		['keys', 'Keys'],
		['account', 'Account'],
	];
	for (const scheme of ['light', 'dark']) {
		for (const [w, hgt, form] of [[1280, 860, 'desktop'], [390, 844, 'phone']]) {
			const v = await launch({ browser: s.browser, colorScheme: scheme, width: w, height: hgt });
			for (const [id, title] of pages) {
				if (id === 'signin') await v.context.clearCookies();
				else if ((await v.context.cookies()).length === 0) await v.context.addCookies(cookies);
				await gotoPage(v.page, app, id, title, { fresh: true });
				const name = `dashboard-${id}-${scheme}-${form}`;
				await shot(v.page, name);
				await checkAxe(v.page, name);
				const over = await v.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
				check(over <= 1, `${name}: no sideways scrolling of the page (${over} px)`);
				if (form === 'phone' && id !== 'signin') {
					const menu = v.page.getByRole('button', { name: 'Menu' });
					check(await menu.isVisible(), `${name}: the nav is a Menu button`);
					await menu.click();
					check(await v.page.getByRole('link', { name: 'Keys', exact: true }).isVisible(), `${name}: Menu opens the nav`);
					await shot(v.page, `${name}-menu`);
				}
			}
			expectNoErrors(v, `${scheme} ${form}`, { allow: EXPECTED });
			await close(v);
		}
	}
});

expectNoErrors(s, 'end', { allow: EXPECTED });
await closeAll();
done();
