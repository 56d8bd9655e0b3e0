-- 0014_seed001.sql: seed 001 (issue 18, s001): where a catalogue row's price came from, so a
-- refresh from OpenRouter's model list (POST /admin/refresh-models) never overwrites a price
-- the operator set or changed.
-- source: 'operator' (POST /admin/models, the CLI, schema/pricing.json: never repriced by a
-- refresh) or 'refresh' (added by a refresh).  refreshed_*: the prices the last refresh wrote;
-- a 'refresh' row whose prices (model or OpenRouter route) differ from them was changed by the
-- operator since, and stays as it is.
ALTER TABLE models
  ADD COLUMN IF NOT EXISTS source ENUM('operator','refresh') NOT NULL DEFAULT 'operator',
  ADD COLUMN IF NOT EXISTS refreshed_input_price BIGINT NULL,
  ADD COLUMN IF NOT EXISTS refreshed_output_price BIGINT NULL;
