// signin_smoke.mjs: the dashboard behind one web-server setup (run by the web-server tests
// t_nginx, t_apache_fcgid, t_apache_proxy_fcgi, t_lighttpd through web_signin in
// tests/integ/lib/base.sh): a user made with the API signs in through the form at
// MOUNT/app/ and sees the Overview, with the web server's CSP in force, no CSP violation, no
// console error and no request to another host.
//
// Environment: TOLLGATE_APP, TOLLGATE_URL (lib.mjs), SMOKE_EMAIL, SMOKE_PW, SMOKE_LABEL.
import { app, base, check, step, done, launch, closeAll, expectNoErrors, signIn } from './lib.mjs';

const email = process.env.SMOKE_EMAIL;
const pw = process.env.SMOKE_PW;
const l = process.env.SMOKE_LABEL || 'web';

// No failed load is expected: a signed-out page's GET /auth/session is a 200 with user null.
const EXPECTED = [];

await step(`${l}: sign-in`, async () => {
	const r = await fetch(`${base}/auth/register`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify({ email, password: pw }),
	});
	check(r.status === 200 || r.status === 201, `${l}: the user is registered through the API (${r.status})`);

	const s = await launch();
	const { page } = s;
	// Collected by the browser itself, outside the page's CSP (an init script runs through
	// the DevTools protocol): every violation of the policy the web server sent.
	await page.addInitScript(() => {
		window.__csp = [];
		document.addEventListener('securitypolicyviolation', (e) =>
			window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
	});
	const resp = await page.goto(app);
	const csp = (await resp.headers())['content-security-policy'] || '';
	check(resp.status() === 200, `${l}: the browser loads ${new URL(app).pathname} (${resp.status()})`);
	check(csp.startsWith("default-src 'none'") && csp.includes("script-src 'self'"),
		`${l}: the page comes with the web server's CSP (${csp.slice(0, 40)}...)`);
	await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor({ timeout: 15000 });
	check(true, `${l}: signed out, the app shows the sign-in page`);

	await signIn(page, app, email, pw);
	check(true, `${l}: after signing in the Overview heading shows`);
	const who = await page.evaluate(async (u) => { const x = await fetch(u); return x.status === 200 && (await x.json()).user ? 'signed in' : `${x.status}, nobody`; }, `${base}/auth/session`);
	check(who === 'signed in', `${l}: the session cookie works under this mount (GET /auth/session: ${who})`);
	// null: the listener was never installed, which must not pass as "no violation".
	const v = await page.evaluate(() => window.__csp ?? null);
	check(Array.isArray(v) && v.length === 0, `${l}: no CSP violation${!Array.isArray(v) ? ' (the listener is missing)' : v.length ? `: ${v.join(' | ')}` : ''}`);
	expectNoErrors(s, l, { allow: EXPECTED });
});

await closeAll();
done();
