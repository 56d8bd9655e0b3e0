-- 0013_compat.sql: seed compatibility (issue 18, compat): API keys brought from another
-- gateway (`tollgate admin import-key`: sk-or-v1-... or 32 hex), stored by hash like ours and
-- marked so in key listings.
ALTER TABLE api_keys
  ADD COLUMN IF NOT EXISTS imported TINYINT(1) NOT NULL DEFAULT 0;
