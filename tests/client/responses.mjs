// responses.mjs: the official openai SDK's Responses API (client.responses.create, plain and
// stream: true) against tollgate's POST /v1/responses, for a model on each upstream wire
// (test/cheap: OpenAI, test/claude: Anthropic, test/gemini: Gemini; all translated through
// the chat pivot). output_text, status, the function call, usage, and the balance moving by
// exactly the cost the response reports (= the charge computed from the catalogue's prices).
// Prints one "ok - ..." or "not ok - ..." line per check; exits 1 when any failed.
import OpenAI from 'openai';
import { base, key, check, step, done, MODELS, PROVIDER, charge, nanoOf, balance, reply, TOOL_ARGS, WEATHER, same } from './sdklib.mjs';

const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: key, maxRetries: 0 });

for (const model of [...MODELS].reverse()) {
	await step(`${model} responses.create`, async () => {
		const b0 = await balance();
		const r = await client.responses.create({ model, instructions: 'be terse', input: 'hello there [mock:words=5]' });
		const want = charge(model, 12, 5);
		const moved = b0 - (await balance());
		check(r.object === 'response' && r.status === 'completed', `${model} responses.create: a completed response (${r.object} ${r.status})`);
		check(r.output_text === reply(5), `${model} responses.create: output_text is the 5-word reply (${JSON.stringify(r.output_text)})`);
		check(r.usage?.input_tokens === 12 && r.usage?.output_tokens === 5 && r.usage?.total_tokens === 17,
		    `${model} responses.create: usage 12 + 5 = 17 (${JSON.stringify(r.usage)})`);
		check(nanoOf(r.usage?.cost) === want && nanoOf(r.gateway_usage?.cost) === want,
		    `${model} responses.create: usage.cost ${r.usage?.cost} and gateway_usage.cost = ${want} nano`);
		check(moved === want, `${model} responses.create: the balance moved by the cost (${moved})`);
		check(r.gateway_usage?.provider === PROVIDER[model] && r.gateway_usage?.model === model,
		    `${model} responses.create: gateway_usage names ${PROVIDER[model]} and ${model}`);
	});

	await step(`${model} responses.create stream`, async () => {
		const b0 = await balance();
		const stream = await client.responses.create({ model, instructions: 'be terse', input: 'hello there [mock:words=6]', stream: true });
		let text = '', completed = null;
		const types = [];
		let seq = -1, ordered = true;
		for await (const ev of stream) {
			types.push(ev.type);
			if (typeof ev.sequence_number !== 'number' || ev.sequence_number <= seq) ordered = false;
			seq = ev.sequence_number;
			if (ev.type === 'response.output_text.delta') text += ev.delta;
			if (ev.type === 'response.completed') completed = ev.response;
		}
		const want = charge(model, 12, 6);
		const moved = b0 - (await balance());
		check(types[0] === 'response.created' && types.at(-1) === 'response.completed' && ordered,
		    `${model} stream: response.created ... response.completed, sequence numbers increasing (${[...new Set(types)].join(',')})`);
		check(text === reply(6), `${model} stream: output_text.delta events assemble ${JSON.stringify(text)}`);
		check(completed?.usage?.input_tokens === 12 && completed?.usage?.output_tokens === 6,
		    `${model} stream: response.completed usage 12 + 6 (${JSON.stringify(completed?.usage)})`);
		check(nanoOf(completed?.usage?.cost) === want, `${model} stream: usage.cost ${completed?.usage?.cost} = ${want} nano`);
		check(moved === want, `${model} stream: the balance moved by the cost (${moved})`);
	});

	await step(`${model} function call`, async () => {
		const b0 = await balance();
		const r = await client.responses.create({
			model,
			instructions: 'be terse',
			input: 'hello there [mock:tool_call]',
			tools: [{ type: 'function', ...WEATHER, strict: false }],
		});
		const moved = b0 - (await balance());
		const fc = r.output?.find((o) => o.type === 'function_call');
		let args = null;
		try {
			args = JSON.parse(fc?.arguments);
		} catch {
			args = fc?.arguments;
		}
		check(fc?.name === 'get_weather' && same(args, TOOL_ARGS) && typeof fc?.call_id === 'string',
		    `${model} function call: get_weather ${fc?.arguments} call_id ${fc?.call_id}`);
		check(r.usage?.input_tokens === 12 && r.usage?.output_tokens === 4, `${model} function call: usage 12 + 4 (${JSON.stringify(r.usage)})`);
		check(moved === charge(model, 12, 4) && nanoOf(r.usage?.cost) === moved,
		    `${model} function call: the balance moved by the cost ${r.usage?.cost} (${moved})`);
	});
}

await step('store refused', async () => {
	try {
		await client.responses.create({ model: 'test/cheap', input: 'hi', previous_response_id: 'resp_123' });
		check(false, 'previous_response_id: an error');
	} catch (e) {
		check(e instanceof OpenAI.BadRequestError, `previous_response_id: BadRequestError 400 (${e?.constructor?.name} ${e?.status} ${e?.message})`);
	}
});

done();
