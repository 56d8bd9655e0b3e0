// use.mjs: the dashboard's usage pages in chromium (run by tests/integ/t_dashboard_use.sh):
// the playground streams an answer with a pasted restricted key (seen growing in pieces), its
// tokens and cost appear; Usage lists the request with that cost, the bill and totals agree,
// the CSV export downloads it; the Overview chart shows it; the catalogue's search and sort
// work; Top-ups lists the admin's top-up; errors show the gateway's message; Stop aborts; a
// refused request and one in flight show as rows of their own.
// axe on each page, no offsite requests, no console errors, screenshots.
//
// Environment: TOLLGATE_APP, TOLLGATE_URL (lib.mjs), USE_EMAIL, USE_PASSWORD, USE_KEY (the
// restricted key: models test/cheap only), USE_KEY_NAME, USE_NOTE (the admin top-up's
// note), USE_TOPUP (its amount), USE_OUT (a folder: result.json and usage.csv for the bash
// side to compare with the database), HAVE_SUMMARY / HAVE_CREDITS / HAVE_OVERVIEW (1 when
// the gateway and the core have /user/usage/summary, /user/credits, the Overview chart).
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { app, base, check, step, done, launch, expectNoErrors, checkAxe, shot, signIn, gotoPage, closeAll } from './lib.mjs';

const env = process.env;
const out = env.USE_OUT || '.';
mkdirSync(out, { recursive: true });
const result = {};
const skip = (what) => console.log(`# SKIP ${what}`);
// The browser logs the 404 of an endpoint this tree lacks (the pages say "not available");
// only those two URLs are excused, and only when they are missing.
const missing = [];
if (env.HAVE_SUMMARY !== '1') missing.push('usage/summary');
if (env.HAVE_CREDITS !== '1') missing.push('credits');
const excused = missing.length ? [new RegExp(`status of 404.*/user/(${missing.join('|')})\\b`)] : [];
const noErrors = (sess, what, allow = []) => expectNoErrors(sess, what, { allow: [...excused, ...allow] });

const s = await launch();
const { page } = s;
// usd() of the dashboard itself, so a check compares what the page must show.
const usd = (v) => page.evaluate(async (x) => (await import(new URL('js/ui.js', location.href))).usd(x), v);
const rowsOf = (sel) => page.locator(`${sel} tbody tr`);
const cellTexts = (row) => row.locator('td').allInnerTexts();

await step('sign in', async () => {
  await signIn(page, app, env.USE_EMAIL, env.USE_PASSWORD);
  check(true, 'signed in through the form');
});

// --- playground: the stream with the pasted key ---------------------------------------------
await step('playground stream', async () => {
  await gotoPage(page, app, 'playground', 'Playground');
  await page.getByLabel('Model', { exact: true }).selectOption('test/cheap');
  const keyBox = page.getByLabel('API key', { exact: true });
  check(!(await keyBox.isVisible()), 'playground: no API key field while the key is "This session"');
  await page.getByLabel('Key', { exact: true }).selectOption({ label: 'Paste a key' });
  check(await keyBox.isVisible(), 'playground: "Paste a key" shows the API key field');
  check((await keyBox.getAttribute('type')) === 'password', 'playground: the API key field is a password input');
  await keyBox.fill(env.USE_KEY);
  // pace: the mock waits 150 ms before each event after the first, so a reader that
  // buffers the whole answer would show it in one update.
  await page.getByLabel('Message', { exact: true }).fill('hello there [mock:pace=150]');
  await checkAxe(page, 'playground');
  await page.evaluate(() => {
    const answer = document.querySelector('.answer');
    const cost = document.querySelector('.cost');
    window.__snaps = [];
    new MutationObserver(() => {
      window.__snaps.push({ t: performance.now(), len: answer.textContent.length, costShown: cost.textContent !== '' });
    }).observe(answer, { childList: true, characterData: true, subtree: true });
  });
  await page.getByRole('button', { name: 'Send', exact: true }).click();
  await page.locator('.cost[data-cost]').waitFor({ timeout: 30000 });
  const answer = await page.locator('.answer').innerText();
  const snaps = await page.evaluate(() => window.__snaps);
  const partial = snaps.filter((x) => x.len > 0 && x.len < answer.length && !x.costShown);
  check(answer === 'mock reply word1 word2 word3 word4 word5 word6 word7 word8 word9 word10', `playground: the whole answer arrived ("${answer}")`);
  check(partial.length >= 2, `playground: the answer grew in pieces before the end (${partial.length} partial updates)`);
  const grows = partial.length >= 2 ? partial[partial.length - 1].t - partial[0].t : 0;
  // The mock spaces the deltas by 150 ms; a buffered reader shows them within a few ms.
  check(grows >= 300, `playground: the pieces came over time, not at once (${Math.round(grows)} ms from first to last)`);
  const c = page.locator('.cost');
  result.cost = await c.getAttribute('data-cost');
  result.prompt = Number(await c.getAttribute('data-prompt-tokens'));
  result.completion = Number(await c.getAttribute('data-completion-tokens'));
  result.request_id = await c.getAttribute('data-request-id');
  const text = await c.innerText();
  check(text.includes(await usd(result.cost)), `playground: the cost is shown ("${text}")`);
  check(text.includes(`${result.prompt} tokens in`) && text.includes(`${result.completion} out`), 'playground: the tokens are shown');
  await shot(page, 'use-playground');
  noErrors(s, 'playground');
});

// --- usage: the request, its cost, the bill, totals, filters, CSV ---------------------------
await step('usage', async () => {
  await gotoPage(page, app, 'usage', 'Usage');
  const list = 'section[aria-labelledby=usage-list]';
  await rowsOf(list).first().waitFor({ timeout: 15000 });
  const first = await cellTexts(rowsOf(list).first());
  result.usage_row = first;
  // Time, Key, Model, Provider, Tokens in, Tokens out, Cost, Status, Latency
  check(first[2] === 'test/cheap' && first[3] === 'mock', `usage: the newest row is the playground's request (${first.join(' | ')})`);
  check(first[1].startsWith(env.USE_KEY_NAME), 'usage: the row names the pasted key');
  check(first[4] === String(result.prompt) && first[5] === String(result.completion), 'usage: the row has the tokens the playground showed');
  check(first[6] === (await usd(result.cost)), `usage: the row's cost is the playground's (${first[6]})`);
  check(first[7] === 'ok', 'usage: the row says ok');
  const bill = await rowsOf('section[aria-labelledby=usage-bill]').allInnerTexts();
  check(bill.some((r) => r.startsWith('test/cheap') && r.includes(first[6])), `usage: the bill has test/cheap at that final price (${bill.join(' / ')})`);
  if (env.HAVE_SUMMARY === '1') {
    const totals = await page.locator('.totals').innerText();
    const n = 1 + Number(env.USE_PRIOR || 0);
    check(new RegExp(`Requests\\s+${n}\\b`).test(totals), `usage: the totals count the ${n} requests (${totals.replace(/\s+/g, ' ')})`);
    const cost = await page.locator('.totals .stat').filter({ hasText: /^Cost/ }).locator('dd').innerText();
    const billTotal = (await cellTexts(rowsOf('section[aria-labelledby=usage-bill]').filter({ hasText: /^Total/ })))[4];
    check(cost === billTotal, `usage: the totals cost equals the bill's final total (${cost}, ${billTotal})`);
  } else skip('usage totals: /user/usage/summary is not in this tree');
  await checkAxe(page, 'usage');
  await shot(page, 'use-usage');

  // Paging: 50 a page, the earlier requests fill a second one.
  if (Number(env.USE_PRIOR || 0) >= 50) {
    check((await rowsOf(list).count()) === 50, 'usage: the first page has 50 requests');
    const next = page.getByRole('button', { name: 'Next page' });
    check(await next.isEnabled(), 'usage: Next page is enabled');
    const firstIds = await rowsOf(list).locator('td:first-child').count();
    await next.click();
    await page.waitForFunction(() => document.querySelectorAll('section[aria-labelledby=usage-list] tbody tr').length !== 50, null, { timeout: 15000 });
    const more = await rowsOf(list).count();
    check(firstIds + more === 1 + Number(env.USE_PRIOR), `usage: the second page has the rest (${more})`);
    check((await cellTexts(rowsOf(list).first()))[2] === 'test/dear', 'usage: the second page holds the earliest requests');
    check(await next.isDisabled(), 'usage: the last page disables Next page');
    await page.getByRole('button', { name: 'Newest' }).click();
    await page.waitForFunction(() => document.querySelectorAll('section[aria-labelledby=usage-list] tbody tr').length === 50, null, { timeout: 15000 });
    check((await cellTexts(rowsOf(list).first()))[2] === 'test/cheap', 'usage: Newest goes back to the first page');
  }

  // CSV: the link carries the filters and downloads the request (cookie-authenticated GET).
  const link = page.getByRole('link', { name: 'Export CSV' });
  const href = await link.getAttribute('href');
  check(/\/user\/usage\?.*format=csv/.test(href) && /from=\d{4}-\d\d-\d\d/.test(href), `usage: Export CSV links to the filtered CSV (${href})`);
  const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 15000 }), link.click()]);
  const csvPath = path.join(out, 'usage.csv');
  await dl.saveAs(csvPath);
  const csv = readFileSync(csvPath, 'utf8');
  check(csv.startsWith('created_at,request_id,') && csv.includes(result.request_id), 'usage: the CSV downloads and holds the request');

  // Filters that exclude it: another model; the status error (when this tree filters by status).
  const apply = () => page.getByRole('button', { name: 'Apply', exact: true }).click();
  await page.getByLabel('Model', { exact: true }).selectOption('test/claude');
  await apply();
  await page.locator(`${list} .empty`).waitFor({ timeout: 15000 });
  check(true, 'usage: Model test/claude + Apply shows no request');
  check(/model=test%2Fclaude/.test(await link.getAttribute('href')), 'usage: the CSV link follows the filter');
  await page.getByLabel('Model', { exact: true }).selectOption('test/cheap');
  if (env.HAVE_STATUS === '1') {
    await page.getByLabel('Status', { exact: true }).selectOption('error');
    await apply();
    await page.locator(`${list} .empty`).waitFor({ timeout: 15000 });
    check(true, 'usage: Status error + Apply shows no request');
    await page.getByLabel('Status', { exact: true }).selectOption('ok');
  } else skip('usage status filter: /user/usage has no status filter in this tree');
  await apply();
  await rowsOf(list).first().waitFor({ timeout: 15000 });
  check((await rowsOf(list).count()) === 1, 'usage: Model test/cheap shows the request again');
  check(await page.getByRole('button', { name: 'Next page' }).isDisabled(), 'usage: one page only, Next page is disabled');
  // Without /user/usage/summary the browser logs its 404; the page says so in its place.
  noErrors(s, 'usage');
});

// --- overview chart --------------------------------------------------------------------------
await step('overview', async () => {
  if (env.HAVE_OVERVIEW !== '1' || env.HAVE_SUMMARY !== '1') {
    skip('overview chart: needs the core\'s Overview and /user/usage/summary');
    return;
  }
  await gotoPage(page, app, 'overview', 'Overview');
  const box = page.locator('.chart-box');
  await box.first().waitFor({ timeout: 15000 });
  await page.waitForFunction(() => /test\/cheap/.test(document.querySelector('.chart-box')?.textContent || ''), null, { timeout: 15000 });
  check(true, 'overview: the chart shows test/cheap');
  noErrors(s, 'overview');
});

// --- models ----------------------------------------------------------------------------------
await step('models', async () => {
  await gotoPage(page, app, 'models', 'Models');
  const rows = rowsOf('table.models');
  await rows.first().waitFor({ timeout: 15000 });
  const ids = async () => (await rows.locator('td:first-child').allInnerTexts());
  const all = await ids();
  check(all.length > 4 && all.join(',') === [...all].sort((a, b) => a.localeCompare(b)).join(','), `models: the whole catalogue, by id (${all.length} models)`);
  const cheap = await cellTexts(rows.filter({ hasText: 'test/cheap' }));
  // Model, Name, Vendor, Input, Output, Cached input, Context (per million tokens)
  check(cheap[3] === '$1.00' && cheap[4] === '$2.00' && cheap[5] === '$0.50' && cheap[6] === '8,192', `models: test/cheap's prices per million and context (${cheap.join(' | ')})`);
  check(cheap[7] === 'mock', `models: test/cheap names the provider that serves it (${cheap[7]})`);
  const dear = await cellTexts(rows.filter({ hasText: 'test/dear' }));
  check(dear[5] === '—', 'models: a model without a cached price shows none');
  await checkAxe(page, 'models');
  const search = page.getByRole('searchbox', { name: 'Search' });
  await search.fill('test/ claude');
  check((await ids()).join(',') === 'test/claude', 'models: search "test/ claude" (every word) leaves test/claude');
  // The test catalogue only: its prices order is known.
  await search.fill('test/');
  // ...and the two built-in test-mode models every catalogue has (issue 18).
  check((await ids()).join(',') === 'test/cheap,test/claude,test/dear,test/echo,test/gemini,test/stream', `models: search "test/" leaves the four test models and the built-in test/echo, test/stream (${(await ids()).join(',')})`);
  const th = page.locator('th[data-key=input]');
  await page.getByRole('button', { name: 'Input', exact: true }).click();
  check((await th.getAttribute('aria-sort')) === 'ascending', 'models: Input sorts ascending (aria-sort)');
  check((await ids())[0] === 'test/gemini', 'models: the cheapest input first');
  await page.getByRole('button', { name: 'Input', exact: true }).click();
  check((await th.getAttribute('aria-sort')) === 'descending', 'models: Input again sorts descending');
  check((await ids())[0] === 'test/dear', 'models: the dearest input first');
  check((await page.locator('th[data-key=id]').getAttribute('aria-sort')) === 'none', 'models: the other columns say aria-sort none');
  await shot(page, 'use-models');
  noErrors(s, 'models');
});

// --- top-ups ---------------------------------------------------------------------------------
await step('top-ups', async () => {
  await gotoPage(page, app, 'topups', 'Top-ups');
  const bal = page.locator('.balance');
  await bal.locator('dd').first().waitFor({ timeout: 15000 });
  check(/Balance/.test(await bal.innerText()), 'top-ups: the balance shows on top');
  if (env.HAVE_CREDITS === '1') {
    const rows = rowsOf('section[aria-labelledby=topups-list]');
    await rows.first().waitFor({ timeout: 15000 });
    const r = await cellTexts(rows.filter({ hasText: env.USE_NOTE }));
    check(r[1] === 'Top-up' && r[2] === (await usd(env.USE_TOPUP)), `top-ups: the admin's top-up is listed with its note (${r.join(' | ')})`);
  } else {
    await page.locator('section[aria-labelledby=topups-list] .muted').waitFor({ timeout: 15000 });
    skip('top-ups list: /user/credits is not in this tree (the page says it is not available)');
  }
  await checkAxe(page, 'top-ups');
  await shot(page, 'use-topups');
  // The 404 of a missing /user/credits is logged by the browser; nothing else may be.
  noErrors(s, 'top-ups');
});

// --- top-ups: redeem a code (issue 18, money) ---------------------------------------------------
// USE_CODE (a single-use code of USE_CODE_AMOUNT and batch USE_CODE_BATCH, made by the admin
// in t_dashboard_use.sh): a wrong code shows the gateway's message, the right one (typed in
// lower case) is credited, the balance and the history follow without a reload.
await step('top-ups redeem', async () => {
  if (!env.USE_CODE) {
    skip('redeem form: no code was made (POST /admin/redeem-codes is not in this tree)');
    return;
  }
  await gotoPage(page, app, 'topups', 'Top-ups');
  const bal = page.locator('.balance dd').first();
  await bal.waitFor({ timeout: 15000 });
  const before = await bal.innerText();
  const box = page.getByLabel('Code', { exact: true });
  await box.fill('ZZZZ-ZZZZ-ZZZZ-ZZZZ');
  await page.getByRole('button', { name: 'Redeem' }).click();
  const err = page.locator('form.redeem .error');
  await page.waitForFunction(() => document.querySelector('form.redeem .error')?.textContent.length > 0, null, { timeout: 15000 });
  check(/not valid/.test(await err.innerText()), `redeem: a wrong code shows the gateway's message (${await err.innerText()})`);
  await box.fill(env.USE_CODE.toLowerCase());
  await page.getByRole('button', { name: 'Redeem' }).click();
  const toast = page.locator('#toasts');
  await page.waitForFunction(() => /Redeemed/.test(document.querySelector('#toasts')?.textContent || ''), null, { timeout: 15000 });
  check((await toast.innerText()).includes(await usd(env.USE_CODE_AMOUNT)), `redeem: the live region says what was redeemed (${await toast.innerText()})`);
  check((await err.innerText()) === '' && (await box.inputValue()) === '', 'redeem: the error is gone and the field is empty');
  await page.waitForFunction((b) => document.querySelector('.balance dd')?.textContent !== b, before, { timeout: 15000 });
  result.balance_after_redeem = await bal.innerText();
  const rows = rowsOf('section[aria-labelledby=topups-list]');
  const r = await cellTexts(rows.filter({ hasText: env.USE_CODE_BATCH }).first());
  check(r[1] === 'Top-up' && r[2] === (await usd(env.USE_CODE_AMOUNT)) && r.includes('Redeemed code'), `redeem: the history lists the code's top-up with its batch (${r.join(' | ')})`);
  await checkAxe(page, 'top-ups with the redeem form');
  await shot(page, 'use-redeem');
  noErrors(s, 'top-ups redeem', [/status of 400.*\/user\/redeem/]);
});

// --- playground: errors, stop, session --------------------------------------------------------
await step('playground errors', async () => {
  await gotoPage(page, app, 'playground', 'Playground');
  await page.getByLabel('Model', { exact: true }).selectOption('test/dear');
  await page.getByLabel('Key', { exact: true }).selectOption({ label: 'Paste a key' });
  await page.getByLabel('API key', { exact: true }).fill(env.USE_KEY);
  await page.getByLabel('Message', { exact: true }).fill('hello');
  // What the gateway answers this key for this model, asked directly.
  const expect = await page.evaluate(async ([key, url]) => {
    const r = await fetch(`${url}/v1/chat/completions`, { method: 'POST', credentials: 'omit', headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ model: 'test/dear', stream: true, messages: [{ role: 'user', content: 'hello' }] }) });
    return { status: r.status, message: (await r.json()).error.message };
  }, [env.USE_KEY, base]);
  await page.getByRole('button', { name: 'Send', exact: true }).click();
  const alert = page.locator('.error[role=alert]');
  await page.waitForFunction(() => document.querySelector('.error[role=alert]').textContent !== '', null, { timeout: 15000 });
  check(expect.status >= 400 && (await alert.innerText()) === expect.message, `playground: a model the key may not use shows the gateway's message (${expect.status}: ${expect.message})`);
  noErrors(s, 'playground errors', [/status of 4\d\d.*\/v1\/chat\/completions/]);
});

await step('playground stop', async () => {
  await page.getByLabel('Model', { exact: true }).selectOption('test/cheap');
  await page.getByLabel('Message', { exact: true }).fill('a long one [mock:pace=400,words=40]');
  await page.getByRole('button', { name: 'Send', exact: true }).click();
  await page.waitForFunction(() => document.querySelector('.answer').textContent.length > 0, null, { timeout: 15000 });
  await page.getByRole('button', { name: 'Stop', exact: true }).click();
  await page.waitForFunction(() => document.querySelector('.error[role=alert]').textContent === 'Stopped.', null, { timeout: 15000 });
  const a = await page.locator('.answer').innerText();
  check(a.length > 0 && !a.includes('word38'), 'playground: Stop ends the stream part way');
  check(await page.getByRole('button', { name: 'Send', exact: true }).isEnabled(), 'playground: Send is enabled again after Stop');
  noErrors(s, 'playground stop');
});

await step('playground session', async () => {
  await page.getByLabel('Key', { exact: true }).selectOption({ label: 'This session' });
  check(!(await page.getByLabel('API key', { exact: true }).isVisible()), 'playground: "This session" hides the API key field');
  await page.getByLabel('Message', { exact: true }).fill('hi [mock:words=3]');
  await page.getByRole('button', { name: 'Send', exact: true }).click();
  await page.locator('.cost[data-cost]').waitFor({ timeout: 30000 });
  check((await page.locator('.answer').innerText()) === 'mock reply word1', 'playground: the session (cookie + CSRF header) chats too');
  result.session_cost = await page.locator('.cost').getAttribute('data-cost');
  noErrors(s, 'playground session');
});

// issue 18: a refused request (402: the key's $1.00 credit limit cannot hold $2.10) and one
// still in flight render as rows of their own, with dashes where there is nothing yet.
await step('usage: refused and pending rows', async () => {
  const chat = (body) => fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${env.USE_KEY}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: 'test/cheap', messages: [{ role: 'user', content: body.text }], ...body.extra }),
  });
  const refused = await chat({ text: 'too dear', extra: { max_tokens: 1000000 } });
  check(refused.status === 402, `usage: a request over the key's credit limit is refused (${refused.status})`);
  const rid = refused.headers.get('x-request-id');
  result.refused_id = rid;
  const list = 'section[aria-labelledby=usage-list]';
  const apply = () => page.getByRole('button', { name: 'Apply', exact: true }).click();
  await gotoPage(page, app, 'usage', 'Usage', { fresh: true });
  await page.getByLabel('Status', { exact: true }).selectOption('refused');
  // The record is written by the journal's write-out: a moment after the answer.
  let row = [];
  for (let i = 0; i < 20 && row[2] !== 'test/cheap'; i++) {
    await apply();
    await page.waitForTimeout(500);
    if ((await rowsOf(list).count()) > 0) row = await cellTexts(rowsOf(list).first());
  }
  check(row[2] === 'test/cheap' && row[7] === 'refused (402)', `usage: the refusal is listed as "refused (402)" (${row.join(' | ')})`);
  check(row[4] === '0' && row[5] === '0' && row[6] === (await usd('0')), `usage: it has no tokens and cost ${await usd('0')} (${row.slice(4, 7).join(' | ')})`);
  const totals = await page.locator('.totals').innerText();
  check(/Refused\s+1\b/.test(totals) && /Requests\s+0\b/.test(totals), `usage: the totals count it as refused, not as a request (${totals.replace(/\s+/g, ' ')})`);
  // A request in flight: listed as pending while the mock holds its answer.
  const slow = chat({ text: 'slow one [mock:latency=8000]', extra: {} });
  await page.getByLabel('Status', { exact: true }).selectOption('pending');
  row = [];
  for (let i = 0; i < 20 && row[7] !== 'pending'; i++) {
    await apply();
    await page.waitForTimeout(300);
    if ((await rowsOf(list).count()) > 0) row = await cellTexts(rowsOf(list).first());
  }
  check(row[7] === 'pending' && row[2] === 'test/cheap', `usage: the request in flight is listed as pending (${row.join(' | ')})`);
  check(row[4] === '—' && row[5] === '—' && row[6] === '—' && row[8] === '—', `usage: a pending row shows dashes, never "undefined" (${row.join(' | ')})`);
  check(!(await page.locator(list).innerText()).includes('undefined'), 'usage: no "undefined" anywhere in the list');
  await checkAxe(page, 'usage with refused and pending rows');
  await shot(page, 'use-usage-pending');
  check((await slow).status === 200, 'usage: the slow request then answers 200');
  noErrors(s, 'usage refused and pending');
});

await step('phone and dark', async () => {
  const d = await launch({ colorScheme: 'dark', width: 390, height: 844, browser: s.browser });
  await signIn(d.page, app, env.USE_EMAIL, env.USE_PASSWORD);
  for (const [id, title] of [['usage', 'Usage'], ['models', 'Models'], ['playground', 'Playground'], ['topups', 'Top-ups']]) {
    await gotoPage(d.page, app, id, title);
    await d.page.waitForTimeout(300);
    await checkAxe(d.page, `${id} (dark, 390 px)`);
    await shot(d.page, `use-${id}-dark-phone`);
  }
  noErrors(d, 'dark phone');
});

writeFileSync(path.join(out, 'result.json'), JSON.stringify(result, null, 1));
await closeAll();
done();
