// models.mjs: the official openai npm package against tollgate's model catalogue and errors.
import OpenAI from 'openai';

const base = process.env.TOLLGATE_URL + '/v1';
const key = process.env.TOLLGATE_KEY;
let failed = 0;
const check = (ok, what) => {
	console.log(`${ok ? 'ok' : 'not ok'} - ${what}`);
	if (!ok) failed++;
};

const client = new OpenAI({ baseURL: base, apiKey: key, maxRetries: 0 });

const ids = [];
for await (const m of client.models.list()) ids.push(m.id);
check(ids.length >= 60, `models.list() pages through ${ids.length} models`);
check(ids.includes('openai/gpt-4o'), 'models.list() includes openai/gpt-4o');

const m = await client.models.retrieve('openai/gpt-4o');
check(m.id === 'openai/gpt-4o' && m.object === 'model', 'models.retrieve("openai/gpt-4o")');

try {
	await client.models.retrieve('nobody/no-such-model');
	check(false, 'unknown model throws');
} catch (e) {
	check(e instanceof OpenAI.NotFoundError && e.status === 404,
	    `unknown model -> NotFoundError 404 (${e.constructor.name} ${e.status})`);
	check(e.error?.code === 'model_not_found', `error.code model_not_found (${e.error?.code})`);
}

const bad = new OpenAI({ baseURL: base, apiKey: 'gw_live_notarealkey', maxRetries: 0 });
try {
	await bad.models.list();
	check(false, 'a bad key throws');
} catch (e) {
	check(e instanceof OpenAI.AuthenticationError && e.status === 401,
	    `bad key -> AuthenticationError 401 (${e.constructor.name} ${e.status})`);
	check(typeof e.requestID === 'string' || e.headers?.['x-request-id'] !== undefined,
	    'the error carries the x-request-id');
}

process.exit(failed === 0 ? 0 : 1);
