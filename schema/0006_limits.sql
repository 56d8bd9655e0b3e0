-- 0006_limits.sql: a cap on concurrent in-flight requests next to the rate limits
-- NULL = unlimited, as for the other limits.  The counters themselves live in shared memory.

ALTER TABLE rate_limit_rules ADD COLUMN max_concurrent BIGINT UNSIGNED NULL AFTER tokens_per_day;
