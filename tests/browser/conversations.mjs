// conversations.mjs (issue 18: convlog): the dashboard's Conversations page in chromium: it
// lists the user's logged requests, opens one and shows its request and answer as text (a
// prompt that looks like HTML stays text: no element is made of it, the CSP is not
// tripped), deletes one, and saves the user's level. Env: CONV_EMAIL, CONV_PASSWORD,
// CONV_RID (a request id of the user's with a body), CONV_MARK (text in its prompt).
import { app, check, step, done, launch, expectNoErrors, checkAxe, shot, signIn, gotoPage, closeAll } from './lib.mjs';

const env = process.env;
const s = await launch();
const { page } = s;

await step('sign in', async () => {
  await signIn(page, app, env.CONV_EMAIL, env.CONV_PASSWORD);
  check(true, 'signed in through the form');
});

await step('list', async () => {
  await gotoPage(page, app, 'conversations', 'Conversations');
  const nav = page.getByRole('navigation', { name: 'Main' });
  check((await nav.getByRole('link', { name: 'Conversations', exact: true }).count()) === 1, 'nav has "Conversations"');
  const rows = page.locator('section[aria-labelledby=conv-list] tbody tr');
  await rows.first().waitFor({ timeout: 15000 });
  check((await rows.count()) >= 2, `the list shows the user's requests (${await rows.count()} rows)`);
  check((await page.getByLabel('What of my requests is kept').inputValue()) === 'full', 'the level select shows full');
  await checkAxe(page, 'conversations list');
  await shot(page, 'conversations-list');
  expectNoErrors(s, 'conversations list');
});

await step('detail', async () => {
  await page.getByRole('button', { name: `View request ${env.CONV_RID}`, exact: true }).click();
  await page.getByRole('heading', { level: 2, name: `Request ${env.CONV_RID}` }).waitFor({ timeout: 15000 });
  const pre = page.locator('pre.conv-body');
  check((await pre.count()) === 2, 'the request and the answer are shown');
  const req = await pre.nth(0).textContent();
  check(req.includes(env.CONV_MARK) && req.includes('<img src=x onerror='), 'the request is shown as its text, markup included');
  check((await page.locator('.conv-detail img').count()) === 0, 'no element is made of the prompt');
  check((await pre.nth(1).textContent()).startsWith('mock reply'), 'the answer is the mock\'s text');
  await checkAxe(page, 'conversation detail');
  await shot(page, 'conversations-detail');
  expectNoErrors(s, 'conversation detail');
});

await step('delete', async () => {
  await page.getByRole('button', { name: 'Delete', exact: true }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete', exact: true }).click();
  await page.getByRole('heading', { level: 2, name: 'Logged requests' }).waitFor({ timeout: 15000 });
  await page.locator('main:not([aria-busy])').waitFor({ timeout: 15000 });
  const r = await page.evaluate(async (id) => (await fetch(`../user/conversations/${id}`)).status, env.CONV_RID);
  check(r === 404, `the deleted conversation reads 404 (${r})`);
  expectNoErrors(s, 'delete', { allow: [/status of 404/] });
});

await step('level', async () => {
  await page.getByLabel('What of my requests is kept').selectOption('metadata');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.getByText('In force for you now: metadata.').waitFor({ timeout: 15000 });
  const p = await page.evaluate(async () => (await (await fetch('../user/profile')).json()).conversation_log);
  check(p === 'metadata', `the profile says metadata (${p})`);
  expectNoErrors(s, 'level');
});

await closeAll();
done();
