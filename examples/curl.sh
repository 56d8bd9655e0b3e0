#!/bin/sh
# curl.sh: tollgate from the shell: the OpenAI paths, and the paths seed gateways' clients use.
#   TOLLGATE_URL=https://gw.example.com TOLLGATE_KEY=gw_live_... sh examples/curl.sh
# On the local stack (scripts/dev up), where the mock provider serves the models:
#   . var/dev.env; TOLLGATE_KEY=$TOLLGATE_ADMIN_KEY MODEL=openai/gpt-4o-mini PROVIDER=mock sh examples/curl.sh
# Any of these base URLs works for the OpenAI API: $TOLLGATE_URL/v1, $TOLLGATE_URL/api/v1
# (seed 002's and the OpenAI SDK setup of seed 004), $TOLLGATE_URL/api/proxy (seed 004).
set -eu
: "${TOLLGATE_URL:=http://localhost:8080}"
: "${TOLLGATE_KEY:?set TOLLGATE_KEY to an API key (gw_live_..., or an imported one)}"
MODEL=${MODEL:-openai/gpt-4o-mini}
# Seed 000's chat names a provider and its own model name.
PROVIDER=${PROVIDER:-openai}
MODEL_NAME=${MODEL_NAME:-gpt-4o-mini}

echo "== models (GET /v1/models)"
curl -sS "$TOLLGATE_URL/v1/models" -H "Authorization: Bearer $TOLLGATE_KEY" | head -c 400; echo

echo "== chat (POST /v1/chat/completions)"
curl -sS "$TOLLGATE_URL/v1/chat/completions" -H "Authorization: Bearer $TOLLGATE_KEY" \
	-H 'Content-Type: application/json' \
	-d "{\"model\":\"$MODEL\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}"
echo

echo "== the same on seed 002's path, key in X-API-Key (POST /api/v1/chat/completions)"
curl -sS "$TOLLGATE_URL/api/v1/chat/completions" -H "X-API-Key: $TOLLGATE_KEY" \
	-H 'Content-Type: application/json' \
	-d "{\"model\":\"$MODEL\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}"
echo

echo "== streamed, on seed 004's path (POST /api/proxy/chat/completions)"
curl -sSN "$TOLLGATE_URL/api/proxy/chat/completions" -H "X-API-Key: $TOLLGATE_KEY" \
	-H 'Content-Type: application/json' \
	-d "{\"model\":\"$MODEL\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}"
echo

echo "== seed 000's chat (POST /api/layers/chat, user + api-key headers)"
curl -sS "$TOLLGATE_URL/api/layers/chat" -H "api-key: $TOLLGATE_KEY" \
	${TOLLGATE_USER:+-H "user: $TOLLGATE_USER"} -H 'Content-Type: application/json' \
	-d "{\"providerName\":\"$PROVIDER\",\"model_name\":\"$MODEL_NAME\",\"message\":\"Hello\"}"
echo

echo "== seed 000's bill (GET /api/usage/check)"
curl -sS "$TOLLGATE_URL/api/usage/check" -H "api-key: $TOLLGATE_KEY"
echo
