// signup_modes.mjs: the sign-up page under auth.registration = closed or invite (run twice by
// tests/integ/t_dashboard.sh after a restart with that setting).
// Environment: TOLLGATE_APP, TOLLGATE_URL (lib.mjs), SIGNUP_MODE (closed | invite),
// SIGNUP_EMAIL, SIGNUP_PW, INVITE_CODE (invite: a valid unused code).
import { app, check, step, done, launch, closeAll, expectNoErrors, checkAxe } from './lib.mjs';

const mode = process.env.SIGNUP_MODE;
const EXPECTED = [/status of 401 .*\/auth\/session\b/];
const s = await launch();
const { page } = s;

await step(`sign-up, registration ${mode}`, async () => {
	await page.goto(app);
	await page.getByRole('button', { name: 'Create an account' }).click();
	await page.getByRole('heading', { level: 1, name: 'Create an account' }).waitFor();
	if (mode === 'closed') {
		await page.getByText('Registration is closed').waitFor();
		check(true, 'closed: the page says registration is closed');
		check((await page.getByRole('button', { name: 'Create account' }).count()) === 0, 'closed: no form to submit');
		await checkAxe(page, 'sign-up (closed)');
		expectNoErrors(s, 'sign-up closed', { allow: EXPECTED });
		return;
	}
	const invite = page.getByRole('textbox', { name: 'Invite code' });
	check(await invite.evaluate((el) => el.required), 'invite: the invite code is required');
	check(/needs an invite code/.test(await page.locator('form').textContent()), 'invite: the form says a code is needed');
	await page.getByRole('textbox', { name: 'Email' }).fill(process.env.SIGNUP_EMAIL);
	await page.getByLabel('Password', { exact: true }).fill(process.env.SIGNUP_PW);
	await invite.fill('not-a-code');
	await page.getByRole('button', { name: 'Create account' }).click();
	const alert = page.getByRole('alert').filter({ hasText: /invite/i });
	await alert.waitFor();
	check(true, `invite: a wrong code is refused, said in an alert (${(await alert.textContent()).slice(0, 80)})`);
	await invite.fill(process.env.INVITE_CODE);
	await page.getByRole('button', { name: 'Create account' }).click();
	await page.getByRole('heading', { level: 1, name: 'Account created' }).waitFor();
	check(/^gw_live_/.test(await page.locator('.secret').textContent()), 'invite: with the code the account is made and its key shown once');
	await checkAxe(page, 'sign-up (invite)');
	expectNoErrors(s, 'sign-up invite', { allow: [...EXPECTED, /status of 403 .*\/auth\/register\b/] });
});

await closeAll();
done();
