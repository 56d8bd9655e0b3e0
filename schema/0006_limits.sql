-- 0006_limits.sql: in-flight caps next to the rate limits; upstream keys get limits and a disable reason
-- NULL = unlimited, as for the other limits.  The counters themselves live in shared memory.

ALTER TABLE rate_limit_rules ADD COLUMN max_concurrent BIGINT UNSIGNED NULL AFTER tokens_per_day;

-- Upstream keys: their own limits (the free-tier pattern: 200 a day, 20 a minute, one
-- request per 5 s) and why a key was taken out (401/403 from the provider).  Health (cool-
-- downs, circuit breaker, today's counts) lives in shared memory per node.
ALTER TABLE upstream_keys
  ADD COLUMN rpm_limit        INT UNSIGNED NULL AFTER last4,
  ADD COLUMN rpd_limit        INT UNSIGNED NULL AFTER rpm_limit,
  ADD COLUMN min_interval_ms  INT UNSIGNED NOT NULL DEFAULT 0 AFTER rpd_limit,
  ADD COLUMN disabled_reason  VARCHAR(255) NULL AFTER enabled,
  ADD COLUMN disabled_at      DATETIME(6) NULL AFTER disabled_reason;

-- A key may also have limits for one model ('' = the key's limits for every model).
ALTER TABLE rate_limit_rules
  ADD COLUMN model VARCHAR(128) NOT NULL DEFAULT '' AFTER key_id,
  DROP PRIMARY KEY,
  ADD PRIMARY KEY (user_id, key_id, model);

-- [limits] scope = global: fixed windows counted here for every machine.  Each node takes a
-- share of a limit per statement (subject = the hashed user/key, lim = 0..5 for requests and
-- tokens per minute/hour/day, win = the window's index since the epoch).
CREATE TABLE rate_windows (
  subject  BIGINT NOT NULL,
  lim      TINYINT UNSIGNED NOT NULL,
  win      BIGINT NOT NULL,
  used     BIGINT NOT NULL,
  PRIMARY KEY (subject, lim, win)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
