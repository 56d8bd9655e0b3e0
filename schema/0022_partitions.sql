-- 0022_partitions.sql: usage_records partitioned by month; its uniqueness kept in usage_keys (issue 19)
-- MariaDB wants the partitioning column in every UNIQUE key of a partitioned table, so
-- request_id and (user_id, api_key_id, idem_key) could only be unique per month there: a
-- journal line written out twice across the 1st of a month would become two records.  Their
-- uniqueness moves to usage_keys, an unpartitioned table a trigger fills in the statement
-- that inserts the record: a duplicate fails that INSERT (error 1062) as the UNIQUE keys did,
-- for the settling procedures and the journal's write-out alike (domain/journal.c: a batch
-- that meets a duplicate is written row by row, skipping it).
-- This migration copies usage_records once (the ALTER ... PARTITION BY): run it at a quiet
-- hour on a large database (doc/operations.md, "Upgrade").  Every statement may run again:
-- a run that stopped half way is finished by the next.
CREATE TABLE IF NOT EXISTS usage_keys (
  request_id  VARCHAR(128) NOT NULL PRIMARY KEY,
  user_id     BIGINT UNSIGNED NOT NULL,
  api_key_id  BIGINT UNSIGNED NOT NULL,
  idem_key    VARBINARY(64) NULL,
  UNIQUE KEY uq_usage_keys_idem (user_id, api_key_id, idem_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

INSERT IGNORE INTO usage_keys (request_id, user_id, api_key_id, idem_key)
  SELECT request_id, user_id, api_key_id, idem_key FROM usage_records;

-- Records charged past their hold, for the operator's monitor ("overruns in the last 24
-- hours"): a handful of rows, where the same count over usage_records reads a day of records.
CREATE TABLE IF NOT EXISTS usage_overruns (
  request_id  VARCHAR(128) NOT NULL PRIMARY KEY,
  user_id     BIGINT UNSIGNED NOT NULL,
  overrun     BIGINT NOT NULL,
  created_at  DATETIME(6) NOT NULL,
  KEY ix_usage_overruns_time (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
INSERT IGNORE INTO usage_overruns (request_id, user_id, overrun, created_at)
  SELECT request_id, user_id, overrun, created_at FROM usage_records WHERE overrun > 0;

DROP TRIGGER IF EXISTS tg_usage_keys;
CREATE TRIGGER tg_usage_keys BEFORE INSERT ON usage_records FOR EACH ROW FOLLOWS tg_usage_mode
BEGIN
  INSERT INTO usage_keys (request_id, user_id, api_key_id, idem_key)
    VALUES (NEW.request_id, NEW.user_id, NEW.api_key_id, NEW.idem_key);
  IF NEW.overrun > 0 THEN
    INSERT INTO usage_overruns (request_id, user_id, overrun, created_at)
      VALUES (NEW.request_id, NEW.user_id, NEW.overrun, NEW.created_at);
  END IF;
END;
-- A record deleted (by hand: tollgate never deletes one) frees its request id.
DROP TRIGGER IF EXISTS tg_usage_keys_del;
CREATE TRIGGER tg_usage_keys_del AFTER DELETE ON usage_records FOR EACH ROW
  DELETE FROM usage_keys WHERE request_id = OLD.request_id;

-- usage_daily summed over users and keys: the operator's monitor reads a few thousand rows for
-- 30 days where usage_daily has one per user, key, model and day (90 000 at 10 million
-- records).  Kept equal to usage_daily's sums by its triggers, in the transaction of every
-- fold, whichever tollgate folds; so it shares usage_daily's watermark (usage_rollup_mark).
CREATE TABLE IF NOT EXISTS usage_daily_model (
  day                DATE NOT NULL,
  model_id           VARCHAR(128) NOT NULL,
  mode               ENUM('live','test') NOT NULL,
  status             ENUM('ok','error','client_gone','refused') NOT NULL,
  requests           BIGINT NOT NULL DEFAULT 0,
  prompt_tokens      BIGINT NOT NULL DEFAULT 0,
  completion_tokens  BIGINT NOT NULL DEFAULT 0,
  cached_tokens      BIGINT NOT NULL DEFAULT 0,
  base_cost          BIGINT NOT NULL DEFAULT 0,
  commission         BIGINT NOT NULL DEFAULT 0,
  charge             BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (day, model_id, mode, status)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

DROP TRIGGER IF EXISTS tg_daily_model_ins;
CREATE TRIGGER tg_daily_model_ins AFTER INSERT ON usage_daily FOR EACH ROW
  INSERT INTO usage_daily_model (day, model_id, mode, status, requests, prompt_tokens,
      completion_tokens, cached_tokens, base_cost, commission, charge)
    VALUES (NEW.day, NEW.model_id, NEW.mode, NEW.status, NEW.requests, NEW.prompt_tokens,
      NEW.completion_tokens, NEW.cached_tokens, NEW.base_cost, NEW.commission, NEW.charge)
    ON DUPLICATE KEY UPDATE requests = requests + NEW.requests,
      prompt_tokens = prompt_tokens + NEW.prompt_tokens,
      completion_tokens = completion_tokens + NEW.completion_tokens,
      cached_tokens = cached_tokens + NEW.cached_tokens, base_cost = base_cost + NEW.base_cost,
      commission = commission + NEW.commission, charge = charge + NEW.charge;
DROP TRIGGER IF EXISTS tg_daily_model_upd;
CREATE TRIGGER tg_daily_model_upd AFTER UPDATE ON usage_daily FOR EACH ROW
BEGIN
  UPDATE usage_daily_model SET requests = requests - OLD.requests,
      prompt_tokens = prompt_tokens - OLD.prompt_tokens,
      completion_tokens = completion_tokens - OLD.completion_tokens,
      cached_tokens = cached_tokens - OLD.cached_tokens, base_cost = base_cost - OLD.base_cost,
      commission = commission - OLD.commission, charge = charge - OLD.charge
    WHERE day = OLD.day AND model_id = OLD.model_id AND mode = OLD.mode AND status = OLD.status;
  INSERT INTO usage_daily_model (day, model_id, mode, status, requests, prompt_tokens,
      completion_tokens, cached_tokens, base_cost, commission, charge)
    VALUES (NEW.day, NEW.model_id, NEW.mode, NEW.status, NEW.requests, NEW.prompt_tokens,
      NEW.completion_tokens, NEW.cached_tokens, NEW.base_cost, NEW.commission, NEW.charge)
    ON DUPLICATE KEY UPDATE requests = requests + NEW.requests,
      prompt_tokens = prompt_tokens + NEW.prompt_tokens,
      completion_tokens = completion_tokens + NEW.completion_tokens,
      cached_tokens = cached_tokens + NEW.cached_tokens, base_cost = base_cost + NEW.base_cost,
      commission = commission + NEW.commission, charge = charge + NEW.charge;
END;
DROP TRIGGER IF EXISTS tg_daily_model_del;
CREATE TRIGGER tg_daily_model_del AFTER DELETE ON usage_daily FOR EACH ROW
  UPDATE usage_daily_model SET requests = requests - OLD.requests,
      prompt_tokens = prompt_tokens - OLD.prompt_tokens,
      completion_tokens = completion_tokens - OLD.completion_tokens,
      cached_tokens = cached_tokens - OLD.cached_tokens, base_cost = base_cost - OLD.base_cost,
      commission = commission - OLD.commission, charge = charge - OLD.charge
    WHERE day = OLD.day AND model_id = OLD.model_id AND mode = OLD.mode AND status = OLD.status;
-- What usage_daily holds now, set (not added): a fold that commits while this runs either
-- waits for it (its locking read) or comes after it and is added by the triggers.
INSERT INTO usage_daily_model (day, model_id, mode, status, requests, prompt_tokens,
    completion_tokens, cached_tokens, base_cost, commission, charge)
  SELECT day, model_id, mode, status, SUM(requests), SUM(prompt_tokens),
    SUM(completion_tokens), SUM(cached_tokens), SUM(base_cost), SUM(commission), SUM(charge)
  FROM usage_daily GROUP BY day, model_id, mode, status
  ON DUPLICATE KEY UPDATE requests = VALUES(requests), prompt_tokens = VALUES(prompt_tokens),
    completion_tokens = VALUES(completion_tokens), cached_tokens = VALUES(cached_tokens),
    base_cost = VALUES(base_cost), commission = VALUES(commission), charge = VALUES(charge);

-- What `tollgate maintain` took out of usage_records by the retention policy ([maintain]
-- usage_months): per account (a sandbox's is user_id + 2^62, as in ledger check) and key, the
-- records' charges, so `tollgate ledger check` stays exact after old months are archived or
-- dropped.  lease_charge is the part settled through a credit lease (api_keys.spent's check).
CREATE TABLE IF NOT EXISTS usage_retired (
  part          VARCHAR(64) NOT NULL,
  account_id    BIGINT UNSIGNED NOT NULL,
  api_key_id    BIGINT UNSIGNED NOT NULL,
  requests      BIGINT NOT NULL DEFAULT 0,
  charge        BIGINT NOT NULL DEFAULT 0,
  lease_charge  BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (part, account_id, api_key_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row per retirement of a partition's records, through its steps (domain/partition.c):
-- exchanging (the records are moved into usage_retiring), summed (usage_retired has them),
-- done (archived as `archive`, or dropped).  A run that stopped half way is finished by the next.
CREATE TABLE IF NOT EXISTS usage_retire_log (
  part        VARCHAR(64) NOT NULL PRIMARY KEY,
  state       ENUM('exchanging','summed','done') NOT NULL,
  records     BIGINT NOT NULL DEFAULT 0,
  archive     VARCHAR(64) NULL,
  started_at  DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  done_at     DATETIME(6) NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The partitions: p_old below the oldest record's month (kept empty), one per month from
-- there to three months ahead (at most ten years back), p_future for anything later.
-- `tollgate maintain` keeps [maintain] partitions_ahead months ahead from here on.
DROP PROCEDURE IF EXISTS tg_partition_usage;
CREATE PROCEDURE tg_partition_usage()
MODIFIES SQL DATA
BEGIN
  DECLARE v_first DATE;
  DECLARE v_m DATE;
  DECLARE v_end DATE;
  DECLARE v_sql TEXT;
  DECLARE v_parts INT DEFAULT 0;
  -- Partitioned already: this file ran before and was not recorded (a lost connection).
  SELECT COUNT(*) INTO v_parts FROM information_schema.PARTITIONS
    WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'usage_records'
      AND PARTITION_NAME IS NOT NULL;
  IF v_parts = 0 THEN
  SET v_end = DATE_FORMAT(UTC_DATE(), '%Y-%m-01') + INTERVAL 4 MONTH;
  SELECT DATE_FORMAT(COALESCE(MIN(created_at), UTC_DATE()), '%Y-%m-01') INTO v_first
    FROM usage_records;
  SET v_first = GREATEST(v_first, DATE_FORMAT(UTC_DATE(), '%Y-%m-01') - INTERVAL 120 MONTH);
  SET v_first = LEAST(v_first, DATE_FORMAT(UTC_DATE(), '%Y-%m-01'));
  SET v_sql = CONCAT('ALTER TABLE usage_records DROP PRIMARY KEY, ADD PRIMARY KEY (id, created_at), ',
    'DROP INDEX uq_usage_request, DROP INDEX uq_usage_idem, ',
    'ADD KEY ix_usage_idem (user_id, api_key_id, idem_key) ',
    'PARTITION BY RANGE COLUMNS (created_at) (PARTITION p_old VALUES LESS THAN (''',
    v_first, ''')');
  SET v_m = v_first;
  WHILE v_m < v_end DO
    SET v_sql = CONCAT(v_sql, ', PARTITION p', DATE_FORMAT(v_m, '%Y%m'),
      ' VALUES LESS THAN (''', v_m + INTERVAL 1 MONTH, ''')');
    SET v_m = v_m + INTERVAL 1 MONTH;
  END WHILE;
  SET v_sql = CONCAT(v_sql, ', PARTITION p_future VALUES LESS THAN (MAXVALUE))');
  EXECUTE IMMEDIATE v_sql;
  END IF;
END;
CALL tg_partition_usage();
DROP PROCEDURE tg_partition_usage;
