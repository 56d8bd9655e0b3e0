// sdklib.mjs: what the native-API SDK scripts (anthropic.mjs, genai.mjs, responses.mjs)
// share: ok/not ok reporting, the user's balance, and the exact charge from the test
// catalogue's prices (tests/integ/lib/chat.sh chat_catalog; 5% commission, rounded up).
//
// Environment: TOLLGATE_URL (no /v1), TOLLGATE_KEY (a funded user).
export const base = process.env.TOLLGATE_URL;
export const key = process.env.TOLLGATE_KEY;

let failed = 0;
export const check = (ok, what) => {
	console.log(`${ok ? 'ok' : 'not ok'} - ${what}`);
	if (!ok) failed++;
};
// step(name, fn): one group of checks; an exception the group did not expect is a failure.
export const step = async (name, fn) => {
	try {
		await fn();
	} catch (e) {
		check(false, `${name}: unexpected ${e?.constructor?.name} ${e?.status ?? ''} ${e?.message}`);
	}
};
export const done = () => process.exit(failed > 0 ? 1 : 0);

// The three upstream wires of the test stack: one model each, its provider, its prices in
// nano-USD per token (input, output, cache read, cache write).
export const MODELS = ['test/claude', 'test/gemini', 'test/cheap'];
export const PROVIDER = { 'test/claude': 'mock-anthropic', 'test/gemini': 'mock-gemini', 'test/cheap': 'mock' };
const PRICES = {
	'test/cheap': { in: 1000, out: 2000, cr: 500, cw: 1000 },
	'test/claude': { in: 3000, out: 15000, cr: 300, cw: 3750 },
	'test/gemini': { in: 300, out: 2500, cr: 75, cw: 300 },
};
// charge(model, prompt, completion, cached, cacheWrite): nano-USD, as tollgate computes it.
export const charge = (model, p, c, cr = 0, cw = 0) => {
	const x = PRICES[model];
	const b = (p - cr - cw) * x.in + cr * x.cr + cw * x.cw + c * x.out;
	return b + Math.ceil((b * 500) / 10000);
};

// nanoOf(usd): a USD amount (a decimal string, exactly; or a JSON number) in nano-USD; NaN
// for anything else.
export const nanoOf = (usd) => {
	if (typeof usd === 'number') return Math.round(usd * 1e9);
	const m = typeof usd === 'string' ? /^(\d+)(?:\.(\d{1,9}))?$/.exec(usd) : null;
	return m ? Number(m[1]) * 1e9 + Number((m[2] ?? '').padEnd(9, '0')) : NaN;
};

// balance(): the user's balance in nano-USD (GET /user/balance).
export const balance = async () => {
	const r = await fetch(`${base}/user/balance`, { headers: { authorization: `Bearer ${key}` } });
	return nanoOf((await r.json()).balance);
};

// reply(n): the mock's n-word answer.
export const reply = (n) =>
	['mock', 'reply', ...Array.from({ length: Math.max(n - 2, 0) }, (_, i) => `word${i + 1}`)].slice(0, n).join(' ');
// The mock's tool call: it calls the first tool with these arguments (4 output tokens).
export const TOOL_ARGS = { location: 'Paris', unit: 'celsius' };
export const WEATHER = {
	name: 'get_weather',
	description: 'the weather in a city',
	parameters: {
		type: 'object',
		properties: { location: { type: 'string' }, unit: { type: 'string' } },
		required: ['location'],
	},
};
export const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
