"""python_openai.py: the official OpenAI Python SDK against tollgate.

    pip install openai
    TOLLGATE_URL=https://gw.example.com TOLLGATE_KEY=gw_live_... python3 examples/python_openai.py

On the local stack (scripts/dev up), where the mock provider serves the models:

    . var/dev.env; TOLLGATE_KEY=$TOLLGATE_ADMIN_KEY MODEL=openai/gpt-4o-mini \
      EMBED_MODEL=openai/gpt-4o-mini python3 examples/python_openai.py

base_url may be TOLLGATE_URL + "/v1" or + "/api/v1" (what seed 002 and seed 004 clients
already use); both reach the same metered routes.  Seed 004's setup that also sends the key
as X-API-Key works unchanged.
"""
import os

from openai import OpenAI

url = os.environ.get("TOLLGATE_URL", "http://localhost:8080")
key = os.environ["TOLLGATE_KEY"]
model = os.environ.get("MODEL", "openai/gpt-4o-mini")
embed_model = os.environ.get("EMBED_MODEL", "openai/text-embedding-3-small")

client = OpenAI(
    base_url=url + "/api/v1",
    api_key=key,
    default_headers={"X-API-Key": key},  # seed 004's README does this; harmless here
)

print([m.id for m in client.models.list().data][:5])

completion = client.chat.completions.create(
    model=model, messages=[{"role": "user", "content": "Hello, how are you?"}]
)
print(completion.choices[0].message.content)
# What it cost, in USD as an exact decimal: usage.cost (a number), gateway_usage (strings).
print(completion.usage.model_extra.get("cost"), getattr(completion, "gateway_usage", None))

stream = client.chat.completions.create(
    model=model,
    messages=[{"role": "user", "content": "Count to three"}],
    stream=True,
    stream_options={"include_usage": True},
)
for chunk in stream:
    if chunk.choices and chunk.choices[0].delta.content:
        print(chunk.choices[0].delta.content, end="", flush=True)
print()

emb = client.embeddings.create(model=embed_model, input="hello")
print(len(emb.data[0].embedding), "dimensions")
