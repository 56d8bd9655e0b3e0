#!/usr/bin/env bash
# t_models_import.sh: POST /admin/models/import adds what a pricing file has and the catalogue lacks.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp

test_begin nginx curl jq mariadb
cp_scratch_db imp
stack_up "db.name=$SCRATCH"
cp_admin imp 1
AK=$ADMIN_KEY
cp_register plain || bail "register a user"
UK=$REG_KEY

doc='{"prices_as_of":"2026-11-01","providers":[{"id":"acme","kind":"openai-compatible","name":"Acme","base_url":"http://127.0.0.1:9/v1"}],
 "models":[
  {"id":"acme/rocket-1","name":"Rocket 1","context_length":32000,"input":"0.40","output":"1.60","routes":[{"provider":"acme","upstream_model":"rocket-1"}]},
  {"id":"openai/gpt-4o","name":"GPT-4o","context_length":128000,"input":"99.00","output":"99.00","routes":[{"provider":"openai","upstream_model":"gpt-4o"}]}]}'

req POST /admin/models/import "$UK" "$doc"
expect_err "a non-admin may not import" 403 insufficient_permissions
req POST /admin/models/import "$AK" '{"models":[]}'
expect_err "a file without prices_as_of" 400 invalid_pricing_file
req POST /admin/models/import "$AK" '{"prices_as_of":"2026-11-01","models":[{"id":"nodash","name":"x","context_length":1,"input":"1","output":"1"}]}'
expect_err "a model id without vendor/" 400 invalid_pricing_file
check "  the message names the model" json_is '.error.message | test("nodash")'
req GET /v1/models/acme/rocket-1 "$AK"
expect_status "nothing of the refused files was added" 404

req POST /admin/models/import "$AK" "$doc"
expect_status "import" 200
check "one model added, two in the file" json_is '.added == 1 and .models == 2 and .prices_as_of == "2026-11-01"'
req GET /v1/models/acme/rocket-1 "$AK"
check "the new model is listed with its prices" json_is \
	'.id == "acme/rocket-1" and .pricing.prompt == "0.0000004" and .pricing.completion == "0.0000016" and .context_length == 32000'
req GET /v1/models/openai/gpt-4o "$AK"
check "an existing model's price is not overwritten" json_is '.pricing.prompt == "0.0000025"'
req GET /admin/providers "$AK"
check "the new provider exists" json_is '.data | any(.id == "acme" and .kind == "openai-compatible")'
req POST /admin/models/import "$AK" "$doc"
check "a second import adds nothing" json_is '.added == 0'
req GET "/admin/audit?action=catalog.import" "$AK"
check "each import left an audit row" json_is '.total == 2'

finish
