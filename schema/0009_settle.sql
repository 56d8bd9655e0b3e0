-- 0009_settle.sql: what is charged is what was used (issue 13): overruns, endings, scopes
-- A provider may report more than the hold priced (reasoning tokens, a max_tokens it did not
-- honour).  The charge is then the real one: the hold's part comes from the reservation and
-- the overrun from the balance, which may go below its overdraft floor by that overrun only.
-- usage_records.overrun says by how much (nano-USD, 0 normally).
ALTER TABLE usage_records ADD COLUMN overrun BIGINT NOT NULL DEFAULT 0 AFTER charge;
-- The floor (balance >= -overdraft_limit) stays the guard of every statement that spends by
-- choice (tg_reserve, a lease, add_credits); only an overrun, money already spent at the
-- provider, may pass it, so it can no longer be a table constraint.
ALTER TABLE accounts DROP CONSTRAINT chk_accounts_balance;

-- How each record's charge was computed: measured (the provider's usage), estimated (the
-- prompt estimate and the text delivered), hold (the hold in full: an ending without usage
-- whose policy is hold, see doc/api-data-plane.md).  estimated stays: 1 exactly when
-- charge_basis is 'estimated'.
ALTER TABLE usage_records ADD COLUMN charge_basis ENUM('measured','estimated','hold')
  NOT NULL DEFAULT 'measured' AFTER estimated;
UPDATE usage_records SET charge_basis = 'estimated' WHERE estimated = 1;

-- Idempotency keys belong to a user and one of its keys: dashboard sessions (api_key_id 0)
-- of two users must not share a namespace.
ALTER TABLE holds DROP INDEX uq_holds_idem,
  ADD UNIQUE KEY uq_holds_idem (account_id, api_key_id, idem_key);
ALTER TABLE usage_records DROP INDEX uq_usage_idem,
  ADD UNIQUE KEY uq_usage_idem (user_id, api_key_id, idem_key);

-- request_id is always tollgate's own (unique); a client's X-Request-Id is kept for tracing
-- only, and may repeat.  No index: nothing looks rows up by it yet, and every index on this
-- table is paid by each write-out (BENCHMARKS.md).
ALTER TABLE usage_records ADD COLUMN client_request_id VARCHAR(128) NULL AFTER request_id;

-- tg_settle: close hold p_id exactly once as p_state ('settled', 'expired_settled'),
-- charging GREATEST(p_charge, 0) (9223372036854775807: the hold in full) and giving back
-- what the hold had left; with a request id, also the usage record, in the same transaction.
-- Returns one row (outcome, charged, balance after, overrun): outcome 0 done, 1 no such
-- hold, 2 already closed (nothing changes).
DROP PROCEDURE IF EXISTS tg_settle;
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
  IN u_idem_key VARBINARY(64), IN u_upstream_cost BIGINT, IN u_overrun BIGINT,
  IN u_charge_basis VARCHAR(16), IN u_client_request_id VARCHAR(128))
MODIFIES SQL DATA
BEGIN
  DECLARE v_acct BIGINT UNSIGNED DEFAULT NULL;
  DECLARE v_key BIGINT UNSIGNED DEFAULT 0;
  DECLARE v_amount BIGINT DEFAULT 0;
  DECLARE v_charged BIGINT DEFAULT 0;
  DECLARE v_over BIGINT DEFAULT 0;
  DECLARE v_state VARCHAR(16) DEFAULT NULL;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;
  START TRANSACTION;
  SELECT account_id, api_key_id, amount, state INTO v_acct, v_key, v_amount, v_state
    FROM holds WHERE id = p_id AND lease = 0 FOR UPDATE;
  IF v_state IS NULL THEN
    ROLLBACK;
    SELECT 1, 0, 0, 0;
  ELSEIF v_state <> 'open' THEN
    ROLLBACK;
    SELECT 2, 0, 0, 0;
  ELSE
    -- A charge is never negative; what the provider used past the hold is charged too
    -- (the overrun), and the sweeper's "everything" (BIGINT max) is the hold.
    SET v_charged = IF(p_charge = 9223372036854775807, v_amount, GREATEST(p_charge, 0));
    SET v_over = GREATEST(v_charged - v_amount, 0);
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
          latency_ms, ttft_ms, stream, estimated, attempts, idem_key, upstream_cost,
          overrun, charge_basis, client_request_id)
        VALUES (u_request_id, u_user_id, u_api_key_id, u_hold_id, u_endpoint, u_model_id,
          u_provider_id, u_upstream_key_id, u_upstream_model, u_prompt, u_completion,
          u_cached, u_reasoning, u_input_price, u_output_price, u_cached_price,
          u_commission_bp, u_base_cost, u_commission, v_charged, u_status, u_http_status,
          u_error, u_latency_ms, u_ttft_ms, u_stream, u_estimated, u_attempts, u_idem_key,
          u_upstream_cost, v_over, u_charge_basis, u_client_request_id);
    END IF;
    COMMIT;
    SELECT 0, v_charged, balance, v_over FROM accounts WHERE user_id = v_acct;
  END IF;
END;

-- tg_lease_charge: settle one request carved from lease p_lease whose carve held p_hold:
-- charge GREATEST(p_charge, 0), up to p_hold (and what the lease has left) from its
-- reservation, the rest from the balance; add it to the key's spend, one ledger entry of
-- the whole charge (deduplicated by the carve id p_carve) and the usage record.
-- Returns (outcome, charged, balance after, overrun): 0 done, 1 no such lease, 2 the lease
-- is closed (nothing changes).
DROP PROCEDURE IF EXISTS tg_lease_charge;
CREATE PROCEDURE tg_lease_charge(
  IN p_lease BINARY(16), IN p_carve BINARY(16), IN p_charge BIGINT, IN p_hold BIGINT,
  IN u_request_id VARCHAR(128), IN u_user_id BIGINT UNSIGNED, IN u_api_key_id BIGINT UNSIGNED,
  IN u_hold_id BINARY(16), IN u_endpoint VARCHAR(16), IN u_model_id VARCHAR(128),
  IN u_provider_id VARCHAR(32), IN u_upstream_key_id BIGINT UNSIGNED,
  IN u_upstream_model VARCHAR(128), IN u_prompt BIGINT, IN u_completion BIGINT,
  IN u_cached BIGINT, IN u_reasoning BIGINT, IN u_input_price BIGINT,
  IN u_output_price BIGINT, IN u_cached_price BIGINT, IN u_commission_bp BIGINT,
  IN u_base_cost BIGINT, IN u_commission BIGINT, IN u_charge BIGINT, IN u_status VARCHAR(16),
  IN u_http_status BIGINT, IN u_error VARCHAR(500), IN u_latency_ms BIGINT,
  IN u_ttft_ms BIGINT, IN u_stream BIGINT, IN u_estimated BIGINT, IN u_attempts BIGINT,
  IN u_idem_key VARBINARY(64), IN u_upstream_cost BIGINT, IN u_overrun BIGINT,
  IN u_charge_basis VARCHAR(16), IN u_client_request_id VARCHAR(128))
MODIFIES SQL DATA
BEGIN
  DECLARE v_acct BIGINT UNSIGNED DEFAULT NULL;
  DECLARE v_amount BIGINT DEFAULT 0;
  DECLARE v_charged BIGINT DEFAULT 0;
  DECLARE v_c BIGINT DEFAULT 0;
  DECLARE v_res BIGINT DEFAULT 0;
  DECLARE v_over BIGINT DEFAULT 0;
  DECLARE v_state VARCHAR(16) DEFAULT NULL;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;
  START TRANSACTION;
  SELECT account_id, amount, COALESCE(charged, 0), state
    INTO v_acct, v_amount, v_charged, v_state
    FROM holds WHERE id = p_lease AND lease = 1 FOR UPDATE;
  IF v_state IS NULL THEN
    ROLLBACK;
    SELECT 1, 0, 0, 0;
  ELSEIF v_state <> 'open' THEN
    ROLLBACK;
    SELECT 2, 0, 0, 0;
  ELSE
    -- The whole charge; up to the carve's hold it comes from the lease's reservation,
    -- the rest (the overrun) from the balance, which may go below its floor by it.
    SET v_c = GREATEST(p_charge, 0);
    SET v_over = GREATEST(v_c - GREATEST(p_hold, 0), 0);
    SET v_res = LEAST(v_c - v_over, v_amount - v_charged);
    UPDATE holds SET charged = v_charged + v_res WHERE id = p_lease;
    UPDATE accounts SET reserved = reserved - v_res, balance = balance - (v_c - v_res)
      WHERE user_id = v_acct;
    IF u_api_key_id <> 0 THEN
      UPDATE api_keys SET spent = spent + v_c WHERE id = u_api_key_id;
    END IF;
    INSERT INTO ledger_entries (account_id, hold_id, kind, amount, dedupe_key)
      VALUES (v_acct, p_lease, 'charge', -v_c, CONCAT('carve:', LOWER(HEX(p_carve))));
    INSERT INTO usage_records (request_id, user_id, api_key_id, hold_id, endpoint, model_id,
        provider_id, upstream_key_id, upstream_model, prompt_tokens, completion_tokens,
        cached_tokens, reasoning_tokens, input_price, output_price, cached_price,
        commission_bp, base_cost, commission, charge, status, http_status, error,
        latency_ms, ttft_ms, stream, estimated, attempts, idem_key, upstream_cost,
        overrun, charge_basis, client_request_id)
      VALUES (u_request_id, u_user_id, u_api_key_id, p_lease, u_endpoint, u_model_id,
        u_provider_id, u_upstream_key_id, u_upstream_model, u_prompt, u_completion,
        u_cached, u_reasoning, u_input_price, u_output_price, u_cached_price,
        u_commission_bp, u_base_cost, u_commission, v_c, u_status, u_http_status,
        u_error, u_latency_ms, u_ttft_ms, u_stream, u_estimated, u_attempts, u_idem_key,
        u_upstream_cost, v_over, u_charge_basis, u_client_request_id);
    COMMIT;
    SELECT 0, v_c, balance, v_over FROM accounts WHERE user_id = v_acct;
  END IF;
END;
