-- 0021_rollups.sql: daily rollups of usage_records (issue 19, usage tables built for scale)
-- One row per UTC day, user, key, model, mode and status with the sums the monitor, the bills
-- and the dashboard's chart read.  Filled by the housekeeper from a watermark (the last
-- usage_records.id rolled up), never by a request; a reader adds the rows past the watermark
-- from usage_records in the same statement, so its answer is exact to the nano-USD.
CREATE TABLE IF NOT EXISTS usage_daily (
  day                DATE NOT NULL,
  user_id            BIGINT UNSIGNED NOT NULL,
  model_id           VARCHAR(128) NOT NULL,
  api_key_id         BIGINT UNSIGNED NOT NULL,
  mode               ENUM('live','test') NOT NULL,
  status             ENUM('ok','error','client_gone','refused') NOT NULL,
  requests           BIGINT NOT NULL DEFAULT 0,
  prompt_tokens      BIGINT NOT NULL DEFAULT 0,
  completion_tokens  BIGINT NOT NULL DEFAULT 0,
  cached_tokens      BIGINT NOT NULL DEFAULT 0,
  base_cost          BIGINT NOT NULL DEFAULT 0,
  commission         BIGINT NOT NULL DEFAULT 0,
  charge             BIGINT NOT NULL DEFAULT 0,
  last_at            DATETIME(6) NOT NULL,      -- the newest record's created_at
  PRIMARY KEY (user_id, day, model_id, api_key_id, mode, status),
  KEY ix_usage_daily_day (day)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The watermark: ids up to last_id are in usage_daily.  seen_id is MAX(id) as read at seen_at;
-- only ids up to a seen_id read some seconds ago are rolled up, so a row whose id was taken
-- before and whose transaction commits a little later is never passed over.
CREATE TABLE IF NOT EXISTS usage_rollup_mark (
  id       TINYINT UNSIGNED NOT NULL PRIMARY KEY,
  last_id  BIGINT UNSIGNED NOT NULL DEFAULT 0,
  seen_id  BIGINT UNSIGNED NOT NULL DEFAULT 0,
  seen_at  DATETIME(6) NOT NULL DEFAULT '1970-01-01 00:00:00',
  CONSTRAINT chk_rollup_mark_one CHECK (id = 1)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
-- Existing rows are rolled up by the housekeeper in bites from id 0.
INSERT IGNORE INTO usage_rollup_mark (id) VALUES (1);
