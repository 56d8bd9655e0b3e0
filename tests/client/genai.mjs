// genai.mjs: the official @google/genai SDK against tollgate's
// POST /v1beta/models/{model}:generateContent and :streamGenerateContent, for a model on each
// upstream wire (test/gemini: Gemini, passed natively; test/claude and test/cheap:
// translated; the ids contain a "/"). generateContent, generateContentStream and a function
// call; text, finish reason, usageMetadata, and the balance moving by exactly the cost the
// answer reports (usageMetadata.cost = the charge computed from the catalogue's prices).
// Prints one "ok - ..." or "not ok - ..." line per check; exits 1 when any failed.
import { GoogleGenAI } from '@google/genai';
import { base, key, check, step, done, MODELS, charge, nanoOf, balance, reply, TOOL_ARGS, WEATHER, same } from './sdklib.mjs';

// The SDK sends the key as x-goog-api-key to {baseUrl}/v1beta/models/{model}:...
const ai = new GoogleGenAI({ apiKey: key, httpOptions: { baseUrl: base } });
// Gemini's promptTokenCount is all input; candidates and thoughts are both output.
const outOf = (u) => (u?.candidatesTokenCount ?? 0) + (u?.thoughtsTokenCount ?? 0);

for (const model of MODELS) {
	await step(`${model} generateContent`, async () => {
		const b0 = await balance();
		const r = await ai.models.generateContent({
			model,
			contents: 'hello there [mock:words=5]',
			config: { systemInstruction: 'be terse' },
		});
		const want = charge(model, 12, 5);
		const moved = b0 - (await balance());
		check(r.text === reply(5), `${model} generateContent: the 5-word reply (${JSON.stringify(r.text)})`);
		check(r.candidates?.[0]?.finishReason === 'STOP', `${model} generateContent: finishReason STOP (${r.candidates?.[0]?.finishReason})`);
		const u = r.usageMetadata;
		check(u?.promptTokenCount === 12 && outOf(u) === 5 && u?.totalTokenCount === 17,
		    `${model} generateContent: usageMetadata 12 + 5 = 17 (${JSON.stringify(u)})`);
		check(nanoOf(u?.cost) === want, `${model} generateContent: usageMetadata.cost ${u?.cost} = ${want} nano`);
		check(moved === want, `${model} generateContent: the balance moved by the cost (${moved})`);
		const h = r.sdkHttpResponse?.headers ?? {};
		check(nanoOf(h['x-tollgate-cost']) === want, `${model} generateContent: x-tollgate-cost ${h['x-tollgate-cost']}`);
	});

	await step(`${model} generateContentStream`, async () => {
		const b0 = await balance();
		const stream = await ai.models.generateContentStream({
			model,
			contents: 'hello there [mock:words=6]',
			config: { systemInstruction: 'be terse' },
		});
		let text = '', chunks = 0, last = null, finish = null;
		for await (const c of stream) {
			chunks++;
			text += c.text ?? '';
			if (c.usageMetadata) last = c.usageMetadata;
			finish = c.candidates?.[0]?.finishReason ?? finish;
		}
		const want = charge(model, 12, 6);
		const moved = b0 - (await balance());
		check(text === reply(6) && chunks >= 2, `${model} generateContentStream: ${chunks} chunks assemble ${JSON.stringify(text)}`);
		check(finish === 'STOP', `${model} generateContentStream: finishReason STOP (${finish})`);
		check(last?.promptTokenCount === 12 && outOf(last) === 6, `${model} generateContentStream: the last usageMetadata 12 + 6 (${JSON.stringify(last)})`);
		check(nanoOf(last?.cost) === want, `${model} generateContentStream: usageMetadata.cost ${last?.cost} = ${want} nano`);
		check(moved === want, `${model} generateContentStream: the balance moved by the cost (${moved})`);
	});

	await step(`${model} function call`, async () => {
		const b0 = await balance();
		const r = await ai.models.generateContent({
			model,
			contents: 'hello there [mock:tool_call]',
			config: { systemInstruction: 'be terse', tools: [{ functionDeclarations: [WEATHER] }] },
		});
		const moved = b0 - (await balance());
		const fc = r.functionCalls?.[0];
		check(fc?.name === 'get_weather' && same(fc?.args, TOOL_ARGS),
		    `${model} function call: get_weather ${JSON.stringify(fc?.args)}`);
		check(r.candidates?.[0]?.finishReason === 'STOP', `${model} function call: finishReason STOP (${r.candidates?.[0]?.finishReason})`);
		const u = r.usageMetadata;
		check(u?.promptTokenCount === 12 && outOf(u) === 4, `${model} function call: usageMetadata 12 + 4 (${JSON.stringify(u)})`);
		check(moved === charge(model, 12, 4) && nanoOf(u?.cost) === moved,
		    `${model} function call: the balance moved by the cost ${u?.cost} (${moved})`);
	});
}

await step('errors', async () => {
	try {
		await ai.models.generateContent({ model: 'test/no-such-model', contents: 'hi' });
		check(false, 'unknown model: an error');
	} catch (e) {
		check(e?.status === 404, `unknown model: ApiError 404 (${e?.constructor?.name} ${e?.status} ${e?.message?.slice(0, 200)})`);
	}
});

done();
