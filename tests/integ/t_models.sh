#!/usr/bin/env bash
# t_models.sh: the model catalogue: seeded by migrate, listed in the OpenAI shape, priced exactly.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh"

test_begin nginx curl jq mariadb
stack_up
KEY=$("$TOLLGATE_BIN" -c "$CONF" admin create-user --email "models-$$-$RANDOM@example.com" \
	2>/dev/null) || bail "admin create-user"

http GET "$URL/v1/models"
check "/v1/models needs a key (401)" status_is 401
http GET "$URL/v1/models" -H "Authorization: Bearer $KEY"
check "/v1/models -> 200" status_is 200
check "OpenAI list shape" json_is '.object == "list" and (.data | type == "array")'
n=$(jq '.data | length' "$T/body")
check "at least 60 priced models ($n)" test "$n" -ge 60
check "every model has id vendor/model, object, created, owned_by, pricing strings" json_is \
	'.data | all((.id | test("^[a-z0-9.-]+/")) and .object == "model" and (.created | type == "number")
	  and (.owned_by | type == "string") and (.pricing.prompt | type == "string")
	  and (.pricing.completion | type == "string"))'
for vendor in openai anthropic google deepseek meta-llama mistralai; do
	check "vendor $vendor present" json_is "[.data[] | select(.owned_by == \"$vendor\")] | length > 0"
done
check "prices match schema/pricing.json exactly (gpt-4o: 2.50/10.00 per M)" json_is \
	'.data[] | select(.id == "openai/gpt-4o") | .pricing.prompt == "0.0000025"
	  and .pricing.completion == "0.00001" and .pricing.input_cache_read == "0.00000125"'

http GET "$URL/v1/models/deepseek/deepseek-chat" -H "Authorization: Bearer $KEY"
check "GET /v1/models/vendor/model -> 200 with that id" json_is '.id == "deepseek/deepseek-chat"'
http GET "$URL/v1/models/nope/nothing" -H "Authorization: Bearer $KEY"
check "unknown model -> 404 model_not_found" sh -c "[ $code = 404 ] && jq -e '.error.code == \"model_not_found\"' '$T/body' >/dev/null"

http GET "$URL/models"
check "public /models needs no key" status_is 200
check "public /models lists the same models" json_is "(.data | length) == $n"
http GET "$URL/models/providers"
check "providers: openai, deepseek, openrouter with model counts" json_is \
	'[.data[].id] | contains(["openai","deepseek","openrouter"])'

# An operator's price change survives a later migrate (migrate only adds).
mariadb --no-defaults --socket="$TOLLGATE_TEST_DB_SOCKET" -u"$TOLLGATE_TEST_DB_USER" \
	-p"$TOLLGATE_TEST_DB_PASSWORD" "$TOLLGATE_TEST_DB_NAME" \
	-e "UPDATE models SET input_price = 2600000 WHERE id = 'openai/gpt-4o'"
"$TOLLGATE_BIN" -c "$CONF" migrate >"$T/migrate.out" 2>&1
check "migrate reports the catalogue" grep -q '^catalog: 0 of [0-9]* models added' "$T/migrate.out"
http GET "$URL/v1/models/openai/gpt-4o" -H "Authorization: Bearer $KEY"
check "the changed price is kept" json_is '.pricing.prompt == "0.0000026"'
mariadb --no-defaults --socket="$TOLLGATE_TEST_DB_SOCKET" -u"$TOLLGATE_TEST_DB_USER" \
	-p"$TOLLGATE_TEST_DB_PASSWORD" "$TOLLGATE_TEST_DB_NAME" \
	-e "UPDATE models SET input_price = 2500000 WHERE id = 'openai/gpt-4o'"

finish
