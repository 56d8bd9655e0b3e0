-- 0008_image_prices.sql: what an image part costs a model, for holds (OpenAI's tile formula)
-- A high or auto detail image is held as image_base_tokens + 8 x image_tile_tokens (the most
-- 512px tiles an image can take once fit in 2048x2048 with its short side at 768), a low
-- detail one as image_base_tokens.  A model without them refuses image parts.  Patch-priced
-- models (gpt-4.1-mini, gpt-4.1-nano, o4-mini: at most 1536 patches times a multiplier) carry
-- that worst case as the base and 0 per tile.  schema/pricing.json seeds new catalogues.

ALTER TABLE models
  ADD COLUMN image_base_tokens INT UNSIGNED NULL AFTER cached_input_price,
  ADD COLUMN image_tile_tokens INT UNSIGNED NULL AFTER image_base_tokens;

UPDATE models SET image_base_tokens = 85, image_tile_tokens = 170 WHERE id = 'openai/gpt-4o' AND image_base_tokens IS NULL AND image_tile_tokens IS NULL;
UPDATE models SET image_base_tokens = 85, image_tile_tokens = 170 WHERE id = 'openai/gpt-4.1' AND image_base_tokens IS NULL AND image_tile_tokens IS NULL;
UPDATE models SET image_base_tokens = 2833, image_tile_tokens = 5667 WHERE id = 'openai/gpt-4o-mini' AND image_base_tokens IS NULL AND image_tile_tokens IS NULL;
UPDATE models SET image_base_tokens = 75, image_tile_tokens = 150 WHERE id = 'openai/o1' AND image_base_tokens IS NULL AND image_tile_tokens IS NULL;
UPDATE models SET image_base_tokens = 75, image_tile_tokens = 150 WHERE id = 'openai/o3' AND image_base_tokens IS NULL AND image_tile_tokens IS NULL;
UPDATE models SET image_base_tokens = 85, image_tile_tokens = 170 WHERE id = 'openai/gpt-4-turbo' AND image_base_tokens IS NULL AND image_tile_tokens IS NULL;
UPDATE models SET image_base_tokens = 2489, image_tile_tokens = 0 WHERE id = 'openai/gpt-4.1-mini' AND image_base_tokens IS NULL AND image_tile_tokens IS NULL;
UPDATE models SET image_base_tokens = 3779, image_tile_tokens = 0 WHERE id = 'openai/gpt-4.1-nano' AND image_base_tokens IS NULL AND image_tile_tokens IS NULL;
UPDATE models SET image_base_tokens = 2642, image_tile_tokens = 0 WHERE id = 'openai/o4-mini' AND image_base_tokens IS NULL AND image_tile_tokens IS NULL;
