-- 0012_native.sql: native Anthropic and Gemini providers (issue 16): cache-write prices,
-- model aliases, and which API a usage record's client spoke
-- A prompt token written to a provider's cache (Anthropic's cache_creation_input_tokens)
-- has a price of its own: micro-USD per million tokens, NULL = the input price.
ALTER TABLE models
  ADD COLUMN cache_write_price BIGINT NULL AFTER cached_input_price,
  ADD CONSTRAINT chk_models_cache_write CHECK (cache_write_price IS NULL OR cache_write_price >= 0);
ALTER TABLE model_routes
  ADD COLUMN cache_write_price BIGINT NULL AFTER cached_input_price,
  ADD CONSTRAINT chk_routes_cache_write CHECK (cache_write_price IS NULL OR cache_write_price >= 0);

-- The names SDKs and other gateways use for a catalogue model (claude-3-5-haiku-latest,
-- gpt-4o-mini, models/gemini-2.5-flash): each names one model.  schema/pricing.json's
-- "aliases" seeds it (`tollgate migrate` adds, never overwrites); a model's id always wins
-- over an alias of the same name.
CREATE TABLE model_aliases (
  alias       VARCHAR(128) NOT NULL PRIMARY KEY,
  model_id    VARCHAR(128) NOT NULL,
  created_at  DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  KEY ix_aliases_model (model_id),
  CONSTRAINT fk_aliases_model FOREIGN KEY (model_id) REFERENCES models (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Which API the client spoke (chat, completions, embeddings, messages, responses, gemini):
-- endpoint stays the metered kind; the records before this one spoke their endpoint's API.
-- Cache writes are part of prompt_tokens, priced at cache_write_price (the price applied).
ALTER TABLE usage_records
  ADD COLUMN api VARCHAR(16) NOT NULL DEFAULT 'chat' AFTER endpoint,
  ADD COLUMN cache_write_tokens INT UNSIGNED NOT NULL DEFAULT 0 AFTER cached_tokens,
  ADD COLUMN cache_write_price BIGINT NOT NULL DEFAULT 0 AFTER cached_price;
UPDATE usage_records SET api = endpoint WHERE api <> endpoint;

-- The settling procedures of 0009 with the three new usage columns at the end.
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
  IN u_charge_basis VARCHAR(16), IN u_client_request_id VARCHAR(128),
  IN u_api VARCHAR(16), IN u_cache_write BIGINT, IN u_cache_write_price BIGINT)
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
          overrun, charge_basis, client_request_id, api, cache_write_tokens,
          cache_write_price)
        VALUES (u_request_id, u_user_id, u_api_key_id, u_hold_id, u_endpoint, u_model_id,
          u_provider_id, u_upstream_key_id, u_upstream_model, u_prompt, u_completion,
          u_cached, u_reasoning, u_input_price, u_output_price, u_cached_price,
          u_commission_bp, u_base_cost, u_commission, v_charged, u_status, u_http_status,
          u_error, u_latency_ms, u_ttft_ms, u_stream, u_estimated, u_attempts, u_idem_key,
          u_upstream_cost, v_over, u_charge_basis, u_client_request_id, u_api, u_cache_write,
          u_cache_write_price);
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
  IN u_charge_basis VARCHAR(16), IN u_client_request_id VARCHAR(128),
  IN u_api VARCHAR(16), IN u_cache_write BIGINT, IN u_cache_write_price BIGINT)
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
        overrun, charge_basis, client_request_id, api, cache_write_tokens,
          cache_write_price)
      VALUES (u_request_id, u_user_id, u_api_key_id, p_lease, u_endpoint, u_model_id,
        u_provider_id, u_upstream_key_id, u_upstream_model, u_prompt, u_completion,
        u_cached, u_reasoning, u_input_price, u_output_price, u_cached_price,
        u_commission_bp, u_base_cost, u_commission, v_c, u_status, u_http_status,
        u_error, u_latency_ms, u_ttft_ms, u_stream, u_estimated, u_attempts, u_idem_key,
        u_upstream_cost, v_over, u_charge_basis, u_client_request_id, u_api, u_cache_write,
          u_cache_write_price);
    COMMIT;
    SELECT 0, v_c, balance, v_over FROM accounts WHERE user_id = v_acct;
  END IF;
END;
