// js_openai.mjs: the official OpenAI JavaScript SDK against tollgate.
//   npm install openai
//   TOLLGATE_URL=https://gw.example.com TOLLGATE_KEY=gw_live_... node examples/js_openai.mjs
// On the local stack (scripts/dev up), where the mock provider serves the models:
//   . var/dev.env; TOLLGATE_KEY=$TOLLGATE_ADMIN_KEY MODEL=openai/gpt-4o-mini \
//     EMBED_MODEL=openai/gpt-4o-mini node examples/js_openai.mjs
// baseURL may end in /v1 or /api/v1 (seed 002's and seed 004's clients): the same routes.
import OpenAI from 'openai';

const url = process.env.TOLLGATE_URL ?? 'http://localhost:8080';
const key = process.env.TOLLGATE_KEY;
const model = process.env.MODEL ?? 'openai/gpt-4o-mini';
const embedModel = process.env.EMBED_MODEL ?? 'openai/text-embedding-3-small';
if (!key) throw new Error('set TOLLGATE_KEY');

const openai = new OpenAI({
  baseURL: `${url}/api/v1`,
  apiKey: key,
  defaultHeaders: { 'X-API-Key': key }, // as seed 004's README configures it
});

const models = await openai.models.list();
console.log(models.data.slice(0, 5).map((m) => m.id));

const completion = await openai.chat.completions.create({
  model,
  messages: [{ role: 'user', content: 'Hello, how are you?' }],
});
console.log(completion.choices[0].message.content, completion.usage);

const stream = await openai.chat.completions.create({
  model,
  messages: [{ role: 'user', content: 'Count to three' }],
  stream: true,
  stream_options: { include_usage: true },
});
for await (const chunk of stream) process.stdout.write(chunk.choices[0]?.delta?.content ?? '');
process.stdout.write('\n');

const emb = await openai.embeddings.create({ model: embedModel, input: 'hello' });
console.log(emb.data[0].embedding.length, 'dimensions');
