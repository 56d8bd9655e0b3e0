-- 0022_partitions.sql: usage_records partitioned by month; its uniqueness kept in usage_keys (issue 19)
-- MariaDB wants the partitioning column in every UNIQUE key of a partitioned table, so
-- request_id and (user_id, api_key_id, idem_key) could only be unique per month there: a
-- journal line written out twice across the 1st of a month would become two records.  Their
-- uniqueness moves to usage_keys, an unpartitioned table a trigger fills in the statement
-- that inserts the record: a duplicate fails that INSERT (error 1062) as the UNIQUE keys did,
-- for the settling procedures and the journal's write-out alike (domain/journal.c: a batch
-- that meets a duplicate is written row by row, skipping it).
-- This migration copies usage_records once (the ALTER ... PARTITION BY): run it at a quiet
-- hour on a large database (doc/operations.md, "Upgrade").
CREATE TABLE IF NOT EXISTS usage_keys (
  request_id  VARCHAR(128) NOT NULL PRIMARY KEY,
  user_id     BIGINT UNSIGNED NOT NULL,
  api_key_id  BIGINT UNSIGNED NOT NULL,
  idem_key    VARBINARY(64) NULL,
  UNIQUE KEY uq_usage_keys_idem (user_id, api_key_id, idem_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

INSERT IGNORE INTO usage_keys (request_id, user_id, api_key_id, idem_key)
  SELECT request_id, user_id, api_key_id, idem_key FROM usage_records;

DROP TRIGGER IF EXISTS tg_usage_keys;
CREATE TRIGGER tg_usage_keys BEFORE INSERT ON usage_records FOR EACH ROW FOLLOWS tg_usage_mode
  INSERT INTO usage_keys (request_id, user_id, api_key_id, idem_key)
    VALUES (NEW.request_id, NEW.user_id, NEW.api_key_id, NEW.idem_key);
-- A record deleted (by hand: tollgate never deletes one) frees its request id.
DROP TRIGGER IF EXISTS tg_usage_keys_del;
CREATE TRIGGER tg_usage_keys_del AFTER DELETE ON usage_records FOR EACH ROW
  DELETE FROM usage_keys WHERE request_id = OLD.request_id;

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
END;
CALL tg_partition_usage();
DROP PROCEDURE tg_partition_usage;
