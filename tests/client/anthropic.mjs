// anthropic.mjs: the official @anthropic-ai/sdk against tollgate's POST /v1/messages, for a
// model on each upstream wire (test/claude: Anthropic, passed natively; test/gemini and
// test/cheap: translated). messages.create, messages.stream and a tool call with its result
// sent back; content, stop reason, usage in Anthropic's terms, and the balance moving by
// exactly the cost the answer reports (= the charge computed from the catalogue's prices).
// Prints one "ok - ..." or "not ok - ..." line per check; exits 1 when any failed.
import Anthropic from '@anthropic-ai/sdk';
import { base, key, check, step, done, MODELS, PROVIDER, charge, nanoOf, balance, reply, TOOL_ARGS, WEATHER, same } from './sdklib.mjs';

// The SDK appends /v1/messages to the base URL; its key goes in x-api-key.
const client = new Anthropic({ baseURL: base, apiKey: key, maxRetries: 0 });
const textOf = (m) => m.content.filter((b) => b.type === 'text').map((b) => b.text).join('');
// Anthropic's input_tokens leaves out cache reads and writes; tollgate's prompt is all three.
const promptOf = (u) => (u?.input_tokens ?? 0) + (u?.cache_creation_input_tokens ?? 0) + (u?.cache_read_input_tokens ?? 0);

for (const model of MODELS) {
	await step(`${model} messages.create`, async () => {
		const b0 = await balance();
		const m = await client.messages.create({
			model,
			max_tokens: 100,
			system: 'be terse',
			messages: [{ role: 'user', content: 'hello there [mock:words=5]' }],
		});
		const want = charge(model, 12, 5);
		const moved = b0 - (await balance());
		check(m.type === 'message' && m.role === 'assistant' && textOf(m) === reply(5),
		    `${model} messages.create: the 5-word reply (${JSON.stringify(textOf(m))})`);
		check(m.stop_reason === 'end_turn', `${model} messages.create: stop_reason end_turn (${m.stop_reason})`);
		check(promptOf(m.usage) === 12 && m.usage.output_tokens === 5,
		    `${model} messages.create: usage 12 in, 5 out (${JSON.stringify(m.usage)})`);
		check(nanoOf(m.usage?.cost) === want && nanoOf(m.gateway_usage?.cost) === want,
		    `${model} messages.create: usage.cost ${m.usage?.cost} and gateway_usage.cost = ${want} nano`);
		check(moved === want, `${model} messages.create: the balance moved by the cost (${moved})`);
		check(m.gateway_usage?.provider === PROVIDER[model] && m.gateway_usage?.model === model,
		    `${model} messages.create: gateway_usage names ${PROVIDER[model]} and ${model} (${JSON.stringify(m.gateway_usage)})`);
	});

	await step(`${model} messages.stream`, async () => {
		const b0 = await balance();
		const stream = client.messages.stream({
			model,
			max_tokens: 100,
			system: 'be terse',
			messages: [{ role: 'user', content: 'hello there [mock:words=7]' }],
		});
		let text = '';
		const types = [];
		let delta = null;
		stream.on('text', (t) => (text += t));
		stream.on('streamEvent', (ev) => {
			types.push(ev.type);
			if (ev.type === 'message_delta') delta = ev;
		});
		const fin = await stream.finalMessage();
		const want = charge(model, 12, 7);
		const moved = b0 - (await balance());
		check(text === reply(7) && textOf(fin) === reply(7), `${model} messages.stream: text events and the final message (${JSON.stringify(text)})`);
		check(types[0] === 'message_start' && types.at(-1) === 'message_stop' && types.includes('content_block_delta'),
		    `${model} messages.stream: message_start ... content_block_delta ... message_stop (${types.filter((t) => t !== 'ping').join(',')})`);
		check(fin.stop_reason === 'end_turn', `${model} messages.stream: stop_reason end_turn (${fin.stop_reason})`);
		check(promptOf(fin.usage) === 12 && fin.usage.output_tokens === 7,
		    `${model} messages.stream: usage 12 in, 7 out (${JSON.stringify(fin.usage)})`);
		check(nanoOf(delta?.usage?.cost) === want && nanoOf(delta?.gateway_usage?.cost) === want,
		    `${model} messages.stream: message_delta usage.cost ${delta?.usage?.cost} and gateway_usage.cost = ${want} nano`);
		check(moved === want, `${model} messages.stream: the balance moved by the cost (${moved})`);
	});

	await step(`${model} tools`, async () => {
		const tools = [{ name: WEATHER.name, description: WEATHER.description, input_schema: WEATHER.parameters }];
		const ask = { role: 'user', content: 'hello there [mock:tool_call]' };
		let b0 = await balance();
		const m = await client.messages.create({ model, max_tokens: 100, system: 'be terse', tools, messages: [ask] });
		const use = m.content.find((b) => b.type === 'tool_use');
		let moved = b0 - (await balance());
		check(use?.name === 'get_weather' && same(use?.input, TOOL_ARGS) && typeof use?.id === 'string',
		    `${model} tools: a tool_use block get_weather ${JSON.stringify(use?.input)} id ${use?.id}`);
		check(m.stop_reason === 'tool_use', `${model} tools: stop_reason tool_use (${m.stop_reason})`);
		check(promptOf(m.usage) === 12 && m.usage.output_tokens === 4,
		    `${model} tools: usage 12 in, 4 out (${JSON.stringify(m.usage)})`);
		check(moved === charge(model, 12, 4) && nanoOf(m.usage?.cost) === moved,
		    `${model} tools: the balance moved by the cost ${m.usage?.cost} (${moved})`);
		// The result goes back in the next turn (the tool_use id kept): an answer, charged
		// what it reports. Without tools this time, so the mock answers in words.
		b0 = await balance();
		const r = await client.messages.create({
			model,
			max_tokens: 100,
			system: 'be terse',
			messages: [
				ask,
				{ role: 'assistant', content: m.content },
				{ role: 'user', content: [{ type: 'tool_result', tool_use_id: use?.id, content: '15 degrees' }] },
			],
		});
		moved = b0 - (await balance());
		check(r.stop_reason === 'end_turn' && textOf(r).startsWith('mock reply'),
		    `${model} tools: the tool_result turn is answered (${r.stop_reason}: ${JSON.stringify(textOf(r))})`);
		check(moved > 0 && moved === nanoOf(r.usage?.cost) && moved === charge(model, promptOf(r.usage), r.usage.output_tokens),
		    `${model} tools: the tool_result turn moved the balance by its cost ${r.usage?.cost} (${moved})`);
	});
}

await step('errors', async () => {
	try {
		await client.messages.create({ model: 'test/no-such-model', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
		check(false, 'unknown model: an error');
	} catch (e) {
		check(e instanceof Anthropic.NotFoundError && e.error?.type === 'error' && e.error?.error?.type === 'not_found_error',
		    `unknown model: NotFoundError with Anthropic's error shape (${e?.constructor?.name} ${e?.status} ${JSON.stringify(e?.error)})`);
	}
	const bad = new Anthropic({ baseURL: base, apiKey: 'gw_live_not_a_key', maxRetries: 0 });
	try {
		await bad.messages.create({ model: 'test/claude', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
		check(false, 'bad key: an error');
	} catch (e) {
		check(e instanceof Anthropic.AuthenticationError, `bad key: AuthenticationError (${e?.constructor?.name} ${e?.status})`);
	}
});

done();
