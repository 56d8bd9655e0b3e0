// chat.mjs: the official openai npm package against tollgate's metered data plane
// (doc/api-data-plane.md), upstream the mock provider (tests/mock-provider/README.md).
//
// Environment: TOLLGATE_URL (no /v1), TOLLGATE_KEY (a funded user), TOLLGATE_POOR_KEY (a user
// with balance 0). The catalogue is chat_lib.sh's: test/cheap at $1 / $2 per million tokens,
// commission 5%, so a request of P prompt and C completion tokens costs
// (1000 P + 2000 C) x 1.05 nano-USD (all multiples of 1000, so no rounding).
// Prints one "ok - ..." or "not ok - ..." line per check; exits 1 when any failed.
import OpenAI from 'openai';

const base = process.env.TOLLGATE_URL + '/v1';
const key = process.env.TOLLGATE_KEY;
const poorKey = process.env.TOLLGATE_POOR_KEY;
let failed = 0;
const check = (ok, what) => {
	console.log(`${ok ? 'ok' : 'not ok'} - ${what}`);
	if (!ok) failed++;
};
// step(name, fn): runs one group of checks; an exception the group did not expect is a failure.
const step = async (name, fn) => {
	try {
		await fn();
	} catch (e) {
		check(false, `${name}: unexpected ${e?.constructor?.name} ${e?.status ?? ''} ${e?.message}`);
	}
};
const nanoOf = (usd) => (typeof usd === 'number' ? Math.round(usd * 1e9) : NaN);
const charge = (p, c) => {
	const b = 1000 * p + 2000 * c;
	return b + Math.ceil((b * 500) / 10000);
};
const reply = (n) => ['mock', 'reply', ...Array.from({ length: n - 2 }, (_, i) => `word${i + 1}`)].slice(0, n).join(' ');
const msgs = (text) => [
	{ role: 'system', content: 'be terse' },
	{ role: 'user', content: text },
];

const client = new OpenAI({ baseURL: base, apiKey: key, maxRetries: 0 });

await step('chat non-stream', async () => {
	const { data: r, response } = await client.chat.completions
		.create({ model: 'test/cheap', messages: msgs('hello there') })
		.withResponse();
	check(r.choices?.[0]?.message?.content === reply(12),
	    `chat.completions.create: the 12-word reply (${JSON.stringify(r.choices?.[0]?.message?.content)})`);
	check(r.usage?.prompt_tokens === 12 && r.usage?.completion_tokens === 12 && r.usage?.total_tokens === 24,
	    `chat.completions.create: usage 12 + 12 (${JSON.stringify(r.usage)})`);
	check(nanoOf(r.usage?.cost) === charge(12, 12),
	    `chat.completions.create: usage.cost ${r.usage?.cost} = ${charge(12, 12)} nano`);
	check(r.gateway_usage?.provider === 'mock' && r.gateway_usage?.model === 'test/cheap',
	    'chat.completions.create: gateway_usage provider mock, model test/cheap');
	check(response.headers.get('x-tollgate-provider') === 'mock',
	    'chat.completions.create: x-tollgate-provider header');
	check(typeof r._request_id === 'string' && r._request_id === r.gateway_usage?.request_id,
	    `chat.completions.create: SDK _request_id ${r._request_id} = gateway_usage.request_id`);
});

await step('chat stream with usage', async () => {
	const stream = await client.chat.completions.create({
		model: 'test/cheap',
		messages: msgs('hello there [mock:words=5]'),
		stream: true,
		stream_options: { include_usage: true },
	});
	let text = '', usage = null, chunks = 0, usageChunks = 0, finish = null;
	for await (const chunk of stream) {
		chunks++;
		const ch = chunk.choices?.[0];
		if (ch?.delta?.content) text += ch.delta.content;
		if (ch?.finish_reason) finish = ch.finish_reason;
		if (chunk.usage) {
			usage = chunk.usage;
			usageChunks++;
		}
	}
	check(text === reply(5), `stream: deltas assemble "${text}"`);
	check(finish === 'stop', `stream: finish_reason stop (${finish})`);
	check(chunks >= 8, `stream: role, 5 deltas, finish and usage chunks (${chunks})`);
	check(usageChunks === 1 && usage?.prompt_tokens === 12 && usage?.completion_tokens === 5,
	    `stream: one final usage chunk, 12 + 5 (${JSON.stringify(usage)})`);
	check(nanoOf(usage?.cost) === charge(12, 5), `stream: usage.cost ${usage?.cost} = ${charge(12, 5)} nano`);
});

await step('chat stream without usage', async () => {
	const stream = await client.chat.completions.create({
		model: 'test/cheap',
		messages: msgs('hello there [mock:words=4]'),
		stream: true,
	});
	let text = '', sawUsage = false;
	for await (const chunk of stream) {
		text += chunk.choices?.[0]?.delta?.content ?? '';
		if (chunk.usage) sawUsage = true;
	}
	check(text === reply(4) && !sawUsage, `stream without include_usage: "${text}", no usage chunk (${sawUsage})`);
});

await step('models', async () => {
	const ids = [];
	for await (const m of client.models.list()) ids.push(m.id);
	check(ids.includes('test/cheap') && ids.includes('test/dear'),
	    `models.list() includes test/cheap and test/dear (${ids.length} models)`);
});

await step('embeddings', async () => {
	// The SDK asks for base64 by default and decodes it: tollgate must pass that through.
	const e = await client.embeddings.create({ model: 'test/cheap', input: 'the quick brown fox' });
	const v = e.data?.[0]?.embedding;
	check(Array.isArray(v) && v.length === 8 && v.every(Number.isFinite),
	    `embeddings.create: one vector of 8 numbers (${v?.length})`);
	check(e.usage?.prompt_tokens === 4, `embeddings.create: usage 4 prompt tokens (${JSON.stringify(e.usage)})`);
});

await step('completions', async () => {
	const c = await client.completions.create({ model: 'test/cheap', prompt: 'say something [mock:words=5]' });
	check(c.choices?.[0]?.text === reply(5) && c.usage?.prompt_tokens === 2 && c.usage?.completion_tokens === 5,
	    `completions.create: "${c.choices?.[0]?.text}", usage 2 + 5`);
	check(nanoOf(c.usage?.cost) === charge(2, 5), `completions.create: usage.cost ${c.usage?.cost}`);
});

// --- errors ---------------------------------------------------------------------------------
// expectError(what, fn, test): fn must throw, and test(e) must hold.
const expectError = async (what, fn, test) => {
	try {
		await fn();
		check(false, `${what}: no error thrown`);
	} catch (e) {
		check(test(e), `${what} (${e?.constructor?.name} ${e?.status} ${e?.error?.code ?? e?.code})`);
	}
};

const bad = new OpenAI({ baseURL: base, apiKey: 'gw_live_notarealkey', maxRetries: 0 });
await expectError('bad key -> AuthenticationError 401',
    () => bad.chat.completions.create({ model: 'test/cheap', messages: msgs('hello there') }),
    (e) => e instanceof OpenAI.AuthenticationError && e.status === 401);

const poor = new OpenAI({ baseURL: base, apiKey: poorKey, maxRetries: 0 });
await expectError('unfunded user -> APIError 402 insufficient_quota',
    () => poor.chat.completions.create({ model: 'test/cheap', messages: msgs('hello there') }),
    (e) => e instanceof OpenAI.APIError && e.status === 402 && e.error?.code === 'insufficient_quota');
await expectError('unfunded user, streamed -> APIError 402 before any chunk',
    async () => {
	    const s = await poor.chat.completions.create({ model: 'test/cheap', messages: msgs('hello there'), stream: true });
	    for await (const _ of s);
    },
    (e) => e instanceof OpenAI.APIError && e.status === 402);

await expectError('unknown model -> NotFoundError 404 model_not_found',
    () => client.chat.completions.create({ model: 'nobody/no-such-model', messages: msgs('hello there') }),
    (e) => e instanceof OpenAI.NotFoundError && e.status === 404 && e.error?.code === 'model_not_found');

// A failure after the first byte arrives as an error event: the SDK throws while iterating,
// after the delivered deltas.
{
	let text = '';
	await expectError('upstream failure mid-stream -> APIError thrown by the iterator',
	    async () => {
		    const s = await client.chat.completions.create({
			    model: 'test/cheap', messages: msgs('hello there [mock:error_at=2,words=10]'), stream: true,
		    });
		    for await (const chunk of s) text += chunk.choices?.[0]?.delta?.content ?? '';
	    },
	    (e) => e instanceof OpenAI.APIError);
	check(text === reply(2), `mid-stream failure: the 2 delivered deltas came first ("${text}")`);
}

// Last: an upstream 429 (a gateway may rest the upstream key for Retry-After).
await expectError('upstream 429 -> RateLimitError',
    () => client.chat.completions.create({ model: 'test/cheap', messages: msgs('hello there [mock:status=429,retry_after=1]') }),
    (e) => e instanceof OpenAI.RateLimitError && e.status === 429);
await new Promise((r) => setTimeout(r, 1500));
await expectError('upstream 429 on a stream -> RateLimitError before any chunk',
    async () => {
	    const s = await client.chat.completions.create({
		    model: 'test/cheap', messages: msgs('hello there [mock:status=429,retry_after=1]'), stream: true,
	    });
	    for await (const _ of s);
    },
    (e) => e instanceof OpenAI.RateLimitError && e.status === 429);

process.exit(failed === 0 ? 0 : 1);
