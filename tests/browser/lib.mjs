// lib.mjs: what the dashboard's browser scripts share: chromium via playwright-core, ok/not ok
// reporting (the bash test counts the lines), axe-core, screenshots, signing in.
//
// Environment (set by tests/integ/lib/browser.sh and the t_dashboard*.sh scripts):
//   TOLLGATE_APP     the dashboard's URL, e.g. http://127.0.0.1:PORT/app/ (ends in /app/)
//   TOLLGATE_URL     tollgate's base URL behind the same web server (MOUNT, no trailing /)
//   TOLLGATE_SHOTS   screenshot folder (default var/screenshots/ of the checkout)
//   CHROMIUM         the browser binary (default /usr/bin/chromium)
import { chromium } from 'playwright-core';
import { createRequire } from 'node:module';
import { readFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';

const require = createRequire(import.meta.url);
export const app = process.env.TOLLGATE_APP;
export const base = process.env.TOLLGATE_URL;
export const shots = process.env.TOLLGATE_SHOTS || path.resolve('var/screenshots');

let failed = 0;
export const check = (ok, what) => {
	console.log(`${ok ? 'ok' : 'not ok'} - ${what}`);
	if (!ok) failed++;
	return ok;
};
// step(name, fn): one group of checks; an exception inside is a failure of the group (and
// the script goes on with the next group).
export const step = async (name, fn) => {
	try {
		await fn();
	} catch (e) {
		check(false, `${name}: ${e?.constructor?.name} ${e?.message?.split('\n')[0]}`);
		return false;
	}
	return true;
};
export const done = () => process.exit(failed > 0 ? 1 : 0);

const sessions = [];

// launch({colorScheme, width, height}): a fresh browser context (no cookies) and page.
// errors[]: console errors and uncaught page errors; offsite[]: every request to another
// origin than the dashboard's (aborted, so a test never reaches the internet).
export async function launch({ colorScheme = 'light', width = 1280, height = 860, browser } = {}) {
	const own = !browser;
	if (own) {
		browser = await chromium.launch({
			executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
			args: ['--no-sandbox', '--disable-dev-shm-usage', '--no-first-run', '--disable-gpu'],
		});
	}
	const context = await browser.newContext({
		colorScheme,
		viewport: { width, height },
		permissions: ['clipboard-read', 'clipboard-write'],
	});
	const page = await context.newPage();
	// generous: the CI machine is shared and slow at times; only a real hang exceeds this
	page.setDefaultTimeout(30000);
	const origin = new URL(app).origin;
	const errors = [];
	const offsite = [];
	page.on('console', (m) => {
		if (m.type() === 'error') errors.push(`console: ${m.text()} @ ${m.location().url}`);
	});
	page.on('pageerror', (e) => errors.push(`page: ${e.message}`));
	await context.route('**/*', (route) => {
		const u = route.request().url();
		let o;
		try {
			o = new URL(u).origin;
		} catch (_) {
			o = '';
		}
		if (o === origin || u.startsWith('data:') || u.startsWith('blob:')) return route.continue();
		offsite.push(u);
		return route.abort('blockedbyclient');
	});
	const s = { browser, context, page, errors, offsite, own };
	sessions.push(s);
	return s;
}

// close(s): closes what launch() opened.
export async function close(s) {
	await s.context.close().catch(() => {});
	if (s.own) await s.browser.close().catch(() => {});
}

// expectNoErrors(s, what, {allow}): checks no console/page errors and no offsite requests so
// far (then forgets them). allow: regexps for errors the scenario itself caused on purpose.
export function expectNoErrors(s, what = 'page', { allow = [] } = {}) {
	const errs = s.errors.filter((e) => !allow.some((r) => r.test(e)));
	check(errs.length === 0, `${what}: no console errors${errs.length ? `: ${errs.join(' | ')}` : ''}`);
	check(s.offsite.length === 0, `${what}: no offsite requests${s.offsite.length ? `: ${s.offsite.join(' ')}` : ''}`);
	s.errors.length = 0;
	s.offsite.length = 0;
}

let axeSource = null;
// axe(page): the serious and critical axe-core violations of the page as it is now (WCAG
// 2.x A and AA rules). axe is evaluated through the DevTools protocol, which the page's CSP
// does not govern (no script tag is added to the page).
export async function axe(page) {
	if (!axeSource) axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
	if (!(await page.evaluate('typeof window.axe === "object"'))) await page.evaluate(axeSource);
	const res = await page.evaluate(async () => {
		// eslint-disable-next-line no-undef
		const r = await window.axe.run(document, {
			runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
			resultTypes: ['violations'],
		});
		return r.violations.map((v) => ({
			id: v.id,
			impact: v.impact,
			help: v.help,
			nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')),
		}));
	});
	return res.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

// checkAxe(page, what): one check line listing the serious/critical violations.
export async function checkAxe(page, what) {
	const v = await axe(page);
	return check(v.length === 0, `${what}: axe finds no serious or critical violations${v.length ? `: ${v.map((x) => `${x.id} (${x.impact}) at ${x.nodes.join(', ')}`).join('; ')}` : ''}`);
}

// shot(page, name): a full-page PNG screenshot into $TOLLGATE_SHOTS/name.png.
export async function shot(page, name) {
	mkdirSync(shots, { recursive: true });
	const file = path.join(shots, `${name.replace(/[^A-Za-z0-9_.-]+/g, '-')}.png`);
	await page.screenshot({ path: file, fullPage: true });
	return file;
}

// signIn(page, appUrl, email, password): signs in through the form; resolves when the
// Overview heading shows.
export async function signIn(page, appUrl, email, password) {
	await page.goto(`${appUrl}#/signin`);
	await page.getByRole('textbox', { name: 'Email' }).fill(email);
	await page.getByLabel('Password', { exact: true }).fill(password);
	await page.getByRole('button', { name: 'Sign in', exact: true }).click();
	await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor({ timeout: 30000 });
}

// gotoPage(page, appUrl, id, title, {fresh}): opens #/id and waits for its <h1> and for the
// page to finish rendering (main.js sets aria-busy on <main> while a page renders). A goto that
// changes only the hash does not reload the app: fresh reloads it (after cookies changed).
export async function gotoPage(page, appUrl, id, title, { fresh = false } = {}) {
	await page.goto(`${appUrl}#/${id}`);
	if (fresh) await page.reload();
	await page.getByRole('heading', { level: 1, name: title, exact: true }).waitFor({ timeout: 30000 });
	await page.locator('main:not([aria-busy])').waitFor({ timeout: 30000 });
}

// closeAll(): closes every browser launch() opened (at the end of a script).
export async function closeAll() {
	for (const s of sessions) await close(s);
}
