-- 0007_ledger_procs.sql: the ledger's two transactions as procedures, one round trip each
-- Reserve and settle were five and nine statements sent one by one; as procedures each is one
-- CALL with the same statements, guards and lock order (holds, accounts, api_keys) inside one
-- transaction.  ledger.c is their only caller.  Errors roll back and are raised again, so
-- the caller sees the server's error (a duplicate Idempotency-Key is ER_DUP_ENTRY).

-- A lease is a hold for many requests: one process carves their holds from it in shared
-- memory and settles each against it (tg_lease_charge); charged grows while it is open, and
-- closing it (tg_lease_close) returns what is left.
ALTER TABLE holds ADD COLUMN lease TINYINT(1) NOT NULL DEFAULT 0 AFTER charged;

-- How far each node's journal files (journal.c) have been written to the database: updated
-- in the transaction that writes their lines, so a replay writes each line once.
CREATE TABLE journal_marks (
  name  VARCHAR(255) NOT NULL PRIMARY KEY,   -- host/file
  off   BIGINT NOT NULL,
  updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- tg_reserve: hold p_amount of p_user's balance for key p_key (0: none).  Returns one row:
-- 0 held; 1 the balance (with its overdraft) does not cover it; 2 the key's credit_limit
-- does not.  Nothing changes unless 0.
CREATE PROCEDURE tg_reserve(
  IN p_id BINARY(16), IN p_user BIGINT UNSIGNED, IN p_key BIGINT UNSIGNED,
  IN p_idem VARBINARY(64), IN p_amount BIGINT, IN p_ttl INT UNSIGNED, IN p_lease TINYINT)
MODIFIES SQL DATA
BEGIN
  DECLARE v_short INT DEFAULT 0;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;
  START TRANSACTION;
  INSERT INTO holds (id, account_id, api_key_id, idem_key, amount, lease, expires_at)
    VALUES (p_id, p_user, p_key, p_idem, p_amount, p_lease, NOW(6) + INTERVAL p_ttl SECOND);
  -- One conditional UPDATE: no read-then-write window under concurrency.
  UPDATE accounts SET balance = balance - p_amount, reserved = reserved + p_amount
    WHERE user_id = p_user AND balance - p_amount >= -overdraft_limit;
  -- (A zero amount changes no row, and needs no room.)
  IF ROW_COUNT() <> 1 AND p_amount > 0 THEN
    SET v_short = 1;
  ELSEIF p_key <> 0 THEN
    UPDATE api_keys SET spent = spent + p_amount
      WHERE id = p_key AND (credit_limit IS NULL OR spent + p_amount <= credit_limit);
    IF ROW_COUNT() <> 1 AND p_amount > 0 THEN
      SET v_short = 2;
    END IF;
  END IF;
  IF v_short <> 0 THEN
    ROLLBACK;
  ELSE
    INSERT INTO ledger_entries (account_id, hold_id, kind, amount, dedupe_key)
      VALUES (p_user, p_id, 'hold', 0, CONCAT('hold:', LOWER(HEX(p_id))));
    COMMIT;
  END IF;
  SELECT v_short, (SELECT balance FROM accounts WHERE user_id = p_user);
END;

-- tg_settle: close hold p_id exactly once as p_state ('settled', 'expired_settled'),
-- charging LEAST(GREATEST(p_charge, 0), amount) and giving the rest back; with a request id,
-- also the usage record, in the same transaction (its charge column is the amount charged).
-- Returns one row (outcome, charged, balance after): outcome 0 done, 1 no such hold,
-- 2 already closed (nothing changes).
CREATE PROCEDURE tg_settle(
  IN p_id BINARY(16), IN p_charge BIGINT, IN p_state VARCHAR(16),
  IN u_request_id VARCHAR(128), IN u_user_id BIGINT UNSIGNED, IN u_api_key_id BIGINT UNSIGNED,
  IN u_hold_id BINARY(16), IN u_endpoint VARCHAR(16), IN u_model_id VARCHAR(128),
  IN u_provider_id VARCHAR(32), IN u_upstream_key_id BIGINT UNSIGNED,
  IN u_upstream_model VARCHAR(128), IN u_prompt BIGINT, IN u_completion BIGINT,
  IN u_cached BIGINT, IN u_reasoning BIGINT, IN u_input_price BIGINT,
  IN u_output_price BIGINT, IN u_cached_price BIGINT, IN u_commission_bp BIGINT,
  IN u_base_cost BIGINT, IN u_commission BIGINT, IN u_charge BIGINT, IN u_status VARCHAR(16),
  IN u_http_status BIGINT, IN u_error VARCHAR(500), IN u_latency_ms BIGINT,
  IN u_ttft_ms BIGINT, IN u_stream BIGINT, IN u_estimated BIGINT, IN u_attempts BIGINT,
  IN u_idem_key VARBINARY(64), IN u_upstream_cost BIGINT)
MODIFIES SQL DATA
BEGIN
  DECLARE v_acct BIGINT UNSIGNED DEFAULT NULL;
  DECLARE v_key BIGINT UNSIGNED DEFAULT 0;
  DECLARE v_amount BIGINT DEFAULT 0;
  DECLARE v_charged BIGINT DEFAULT 0;
  DECLARE v_state VARCHAR(16) DEFAULT NULL;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;
  START TRANSACTION;
  SELECT account_id, api_key_id, amount, state INTO v_acct, v_key, v_amount, v_state
    FROM holds WHERE id = p_id AND lease = 0 FOR UPDATE;
  IF v_state IS NULL THEN
    ROLLBACK;
    SELECT 1, 0, 0;
  ELSEIF v_state <> 'open' THEN
    ROLLBACK;
    SELECT 2, 0, 0;
  ELSE
    -- A charge is never negative and never more than what was held.
    SET v_charged = LEAST(GREATEST(p_charge, 0), v_amount);
    UPDATE holds SET state = p_state, charged = v_charged, settled_at = NOW(6)
      WHERE id = p_id AND state = 'open';
    UPDATE accounts SET balance = balance + (v_amount - v_charged), reserved = reserved - v_amount
      WHERE user_id = v_acct;
    IF v_key <> 0 THEN
      UPDATE api_keys SET spent = spent - (v_amount - v_charged) WHERE id = v_key;
    END IF;
    INSERT INTO ledger_entries (account_id, hold_id, kind, amount, dedupe_key) VALUES
      (v_acct, p_id, 'charge', -v_charged, CONCAT('charge:', LOWER(HEX(p_id)))),
      (v_acct, p_id, 'release', 0, CONCAT('release:', LOWER(HEX(p_id))));
    IF u_request_id IS NOT NULL THEN
      INSERT INTO usage_records (request_id, user_id, api_key_id, hold_id, endpoint, model_id,
          provider_id, upstream_key_id, upstream_model, prompt_tokens, completion_tokens,
          cached_tokens, reasoning_tokens, input_price, output_price, cached_price,
          commission_bp, base_cost, commission, charge, status, http_status, error,
          latency_ms, ttft_ms, stream, estimated, attempts, idem_key, upstream_cost)
        VALUES (u_request_id, u_user_id, u_api_key_id, u_hold_id, u_endpoint, u_model_id,
          u_provider_id, u_upstream_key_id, u_upstream_model, u_prompt, u_completion,
          u_cached, u_reasoning, u_input_price, u_output_price, u_cached_price,
          u_commission_bp, u_base_cost, u_commission, v_charged, u_status, u_http_status,
          u_error, u_latency_ms, u_ttft_ms, u_stream, u_estimated, u_attempts, u_idem_key,
          u_upstream_cost);
    END IF;
    COMMIT;
    SELECT 0, v_charged, balance FROM accounts WHERE user_id = v_acct;
  END IF;
END;

-- tg_lease_charge: settle one request carved from lease p_lease: charge
-- LEAST(GREATEST(p_charge, 0), what the lease has left) from its reservation, add it to the
-- key's spend, one ledger entry (deduplicated by the carve id p_carve) and the usage record.
-- Returns (outcome, charged, balance after): 0 done, 1 no such lease, 2 the lease is closed
-- (nothing changes).
CREATE PROCEDURE tg_lease_charge(
  IN p_lease BINARY(16), IN p_carve BINARY(16), IN p_charge BIGINT,
  IN u_request_id VARCHAR(128), IN u_user_id BIGINT UNSIGNED, IN u_api_key_id BIGINT UNSIGNED,
  IN u_hold_id BINARY(16), IN u_endpoint VARCHAR(16), IN u_model_id VARCHAR(128),
  IN u_provider_id VARCHAR(32), IN u_upstream_key_id BIGINT UNSIGNED,
  IN u_upstream_model VARCHAR(128), IN u_prompt BIGINT, IN u_completion BIGINT,
  IN u_cached BIGINT, IN u_reasoning BIGINT, IN u_input_price BIGINT,
  IN u_output_price BIGINT, IN u_cached_price BIGINT, IN u_commission_bp BIGINT,
  IN u_base_cost BIGINT, IN u_commission BIGINT, IN u_charge BIGINT, IN u_status VARCHAR(16),
  IN u_http_status BIGINT, IN u_error VARCHAR(500), IN u_latency_ms BIGINT,
  IN u_ttft_ms BIGINT, IN u_stream BIGINT, IN u_estimated BIGINT, IN u_attempts BIGINT,
  IN u_idem_key VARBINARY(64), IN u_upstream_cost BIGINT)
MODIFIES SQL DATA
BEGIN
  DECLARE v_acct BIGINT UNSIGNED DEFAULT NULL;
  DECLARE v_amount BIGINT DEFAULT 0;
  DECLARE v_charged BIGINT DEFAULT 0;
  DECLARE v_c BIGINT DEFAULT 0;
  DECLARE v_state VARCHAR(16) DEFAULT NULL;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;
  START TRANSACTION;
  SELECT account_id, amount, COALESCE(charged, 0), state
    INTO v_acct, v_amount, v_charged, v_state
    FROM holds WHERE id = p_lease AND lease = 1 FOR UPDATE;
  IF v_state IS NULL THEN
    ROLLBACK;
    SELECT 1, 0, 0;
  ELSEIF v_state <> 'open' THEN
    ROLLBACK;
    SELECT 2, 0, 0;
  ELSE
    SET v_c = LEAST(GREATEST(p_charge, 0), v_amount - v_charged);
    UPDATE holds SET charged = v_charged + v_c WHERE id = p_lease;
    UPDATE accounts SET reserved = reserved - v_c WHERE user_id = v_acct;
    IF u_api_key_id <> 0 THEN
      UPDATE api_keys SET spent = spent + v_c WHERE id = u_api_key_id;
    END IF;
    INSERT INTO ledger_entries (account_id, hold_id, kind, amount, dedupe_key)
      VALUES (v_acct, p_lease, 'charge', -v_c, CONCAT('carve:', LOWER(HEX(p_carve))));
    INSERT INTO usage_records (request_id, user_id, api_key_id, hold_id, endpoint, model_id,
        provider_id, upstream_key_id, upstream_model, prompt_tokens, completion_tokens,
        cached_tokens, reasoning_tokens, input_price, output_price, cached_price,
        commission_bp, base_cost, commission, charge, status, http_status, error,
        latency_ms, ttft_ms, stream, estimated, attempts, idem_key, upstream_cost)
      VALUES (u_request_id, u_user_id, u_api_key_id, p_lease, u_endpoint, u_model_id,
        u_provider_id, u_upstream_key_id, u_upstream_model, u_prompt, u_completion,
        u_cached, u_reasoning, u_input_price, u_output_price, u_cached_price,
        u_commission_bp, u_base_cost, u_commission, v_c, u_status, u_http_status,
        u_error, u_latency_ms, u_ttft_ms, u_stream, u_estimated, u_attempts, u_idem_key,
        u_upstream_cost);
    COMMIT;
    SELECT 0, v_c, balance FROM accounts WHERE user_id = v_acct;
  END IF;
END;

-- tg_lease_close: close lease p_lease once: charge p_dead (requests that never settled,
-- capped at what is left) and give the rest back to the balance.  p_state is 'settled' for
-- a close by the node, 'expired_settled' for the sweeper (which passes everything as dead).
-- Returns one row: 0 closed, 1 no such lease, 2 already closed.
CREATE PROCEDURE tg_lease_close(IN p_lease BINARY(16), IN p_dead BIGINT, IN p_state VARCHAR(16))
MODIFIES SQL DATA
BEGIN
  DECLARE v_acct BIGINT UNSIGNED DEFAULT NULL;
  DECLARE v_amount BIGINT DEFAULT 0;
  DECLARE v_charged BIGINT DEFAULT 0;
  DECLARE v_dead BIGINT DEFAULT 0;
  DECLARE v_state VARCHAR(16) DEFAULT NULL;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;
  START TRANSACTION;
  SELECT account_id, amount, COALESCE(charged, 0), state
    INTO v_acct, v_amount, v_charged, v_state
    FROM holds WHERE id = p_lease AND lease = 1 FOR UPDATE;
  IF v_state IS NULL THEN
    ROLLBACK;
    SELECT 1;
  ELSEIF v_state <> 'open' THEN
    ROLLBACK;
    SELECT 2;
  ELSE
    SET v_dead = LEAST(GREATEST(p_dead, 0), v_amount - v_charged);
    UPDATE holds SET state = p_state, charged = v_charged + v_dead, settled_at = NOW(6)
      WHERE id = p_lease AND state = 'open';
    UPDATE accounts
      SET balance = balance + (v_amount - v_charged - v_dead),
          reserved = reserved - (v_amount - v_charged)
      WHERE user_id = v_acct;
    INSERT INTO ledger_entries (account_id, hold_id, kind, amount, dedupe_key) VALUES
      (v_acct, p_lease, 'charge', -v_dead, CONCAT('charge:', LOWER(HEX(p_lease)))),
      (v_acct, p_lease, 'release', 0, CONCAT('release:', LOWER(HEX(p_lease))));
    COMMIT;
    SELECT 0;
  END IF;
END;
