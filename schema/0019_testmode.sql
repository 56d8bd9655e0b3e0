-- 0019_testmode.sql: test mode (issue 18): a sandbox account per user for gw_test_ keys, its
-- daily grant, usage records marked live or test, and the built-in test/* models.
--
-- The sandbox of user N is its own row in accounts, user_id N + 2^62 (4611686018427387904):
-- holds, ledger entries, reserve and settle (tg_reserve, tg_settle) work on it unchanged, so
-- balance + reserved = the sum of its ledger entries holds for it as for the real account,
-- and no statement that moves real money can reach it by a user's id.  owner_id names the
-- user either row belongs to; the foreign key to users becomes the rule that a row's owner
-- is a user (user ids stay far below 2^62).
ALTER TABLE accounts DROP FOREIGN KEY IF EXISTS fk_accounts_user;
ALTER TABLE accounts
  ADD COLUMN IF NOT EXISTS owner_id BIGINT UNSIGNED AS (user_id & 4611686018427387903) STORED,
  ADD COLUMN IF NOT EXISTS test_granted DATE NULL,
  ADD KEY IF NOT EXISTS ix_accounts_owner (owner_id);

-- The grant that refills a sandbox: a ledger kind of its own.  Added to whatever the ENUM
-- holds now (other migrations may add kinds too), never restated.
SET @t = (SELECT COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()
  AND TABLE_NAME = 'ledger_entries' AND COLUMN_NAME = 'kind');
SET @s = IF(@t LIKE '%''test_grant''%', 'DO 0',
  CONCAT('ALTER TABLE ledger_entries MODIFY kind ', LEFT(@t, LENGTH(@t) - 1),
         ',''test_grant'') NOT NULL'));
PREPARE st FROM @s;
EXECUTE st;
DEALLOCATE PREPARE st;

-- The built-in provider kind that answers test/* without any upstream call.
SET @t = (SELECT COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()
  AND TABLE_NAME = 'providers' AND COLUMN_NAME = 'kind');
SET @s = IF(@t LIKE '%''test''%', 'DO 0',
  CONCAT('ALTER TABLE providers MODIFY kind ', LEFT(@t, LENGTH(@t) - 1), ',''test'') NOT NULL'));
PREPARE st FROM @s;
EXECUTE st;
DEALLOCATE PREPARE st;

-- A record is 'test' when a gw_test_ key made it: such keys pay only from the sandbox.  Set
-- by a trigger, so the settling procedures (which other migrations redefine) stay as they
-- are; ledger check compares each account's charges with the records of its mode.
ALTER TABLE usage_records
  ADD COLUMN IF NOT EXISTS mode ENUM('live','test') NOT NULL DEFAULT 'live';

DROP TRIGGER IF EXISTS tg_usage_mode;
CREATE TRIGGER tg_usage_mode BEFORE INSERT ON usage_records FOR EACH ROW
  SET NEW.mode = IF(NEW.api_key_id <> 0 AND EXISTS (SELECT 1 FROM api_keys
      WHERE id = NEW.api_key_id AND environment = 'test'), 'test', 'live');

-- tg_sandbox_refill: create user p_user's sandbox if it has none and, once per UTC day, set
-- its balance to p_amount (nano-USD) with one 'test_grant' ledger entry of the difference
-- (what in-flight holds reserved stays reserved); the entry's dedupe key names the grant it
-- follows, so each grant is written once however many requests ask.  Returns one row
-- (granted, amount added, balance): granted 1 when this call made today's grant, 0 when it
-- was made before.
DROP PROCEDURE IF EXISTS tg_sandbox_refill;
CREATE PROCEDURE tg_sandbox_refill(IN p_user BIGINT UNSIGNED, IN p_amount BIGINT)
MODIFIES SQL DATA
BEGIN
  DECLARE v_acct BIGINT UNSIGNED DEFAULT p_user + 4611686018427387904;
  DECLARE v_bal BIGINT DEFAULT 0;
  DECLARE v_day DATE DEFAULT NULL;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;
  START TRANSACTION;
  INSERT INTO accounts (user_id) VALUES (v_acct) ON DUPLICATE KEY UPDATE user_id = user_id;
  SELECT balance, test_granted INTO v_bal, v_day FROM accounts WHERE user_id = v_acct
    FOR UPDATE;
  IF v_day IS NOT NULL AND v_day >= UTC_DATE() THEN
    COMMIT;
    SELECT 0, CAST(0 AS SIGNED), v_bal;
  ELSE
    UPDATE accounts SET balance = p_amount, test_granted = UTC_DATE() WHERE user_id = v_acct;
    INSERT INTO ledger_entries (account_id, kind, amount, dedupe_key, note)
      VALUES (v_acct, 'test_grant', p_amount - v_bal,
              CONCAT('test_grant:', v_acct, ':', COALESCE(v_day, 'new'), ':', UTC_DATE()),
              'daily test credits');
    COMMIT;
    SELECT 1, CAST(p_amount - v_bal AS SIGNED), CAST(p_amount AS SIGNED);
  END IF;
END;

-- The test models: answered by the gateway itself (provider kind 'test'), priced small and
-- fixed (micro-USD per million tokens: $1 in, $2 out) so a test sees exact costs.
INSERT IGNORE INTO providers (id, kind, name, base_url, enabled)
  VALUES ('test', 'test', 'Test mode (built in, no upstream)', 'builtin:test', 1);
INSERT IGNORE INTO models (id, name, vendor, context_length, input_price, output_price,
    cached_input_price, price_date)
  VALUES ('test/echo', 'Test echo', 'test', 131072, 1000000, 2000000, NULL, '2026-12-06'),
         ('test/stream', 'Test stream', 'test', 131072, 1000000, 2000000, NULL, '2026-12-06');
INSERT IGNORE INTO model_routes (model_id, provider_id, upstream_model, input_price,
    output_price, cached_input_price)
  VALUES ('test/echo', 'test', 'echo', 1000000, 2000000, NULL),
         ('test/stream', 'test', 'stream', 1000000, 2000000, NULL);
