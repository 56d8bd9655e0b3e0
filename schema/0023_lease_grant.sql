-- 0023_lease_grant.sql: what of a credit lease its node may have spent or in flight (issue 20)
-- A lease's node carves requests' holds from it in shared memory, which a crash of the
-- machine loses; the sweeper then had nothing to tell spent from unused and charged the
-- whole rest.  holds.granted bounds what the node may have charged or holding at any moment
-- (the settled requests' charges plus the open carves' holds): the node raises it here
-- before it carves past it, and lowers its own bound before it lowers it here, so the row
-- is never below the truth.  The sweeper charges up to granted - charged and gives the rest
-- back.  NULL: the whole amount (a lease taken before this file, or not yet granted).
ALTER TABLE holds ADD COLUMN IF NOT EXISTS granted BIGINT NULL DEFAULT NULL AFTER charged;

-- tg_lease_close: close lease p_lease once: charge p_dead (requests that never settled,
-- capped at what is left) and give the rest back to the balance.  p_state is 'settled' for
-- a close by the node, which knows its unfinished requests; 'expired_settled' for the
-- sweeper, which passes everything as dead and is capped by the lease's grant.
-- Returns one row: 0 closed, 1 no such lease, 2 already closed.
DROP PROCEDURE IF EXISTS tg_lease_close;
CREATE PROCEDURE tg_lease_close(IN p_lease BINARY(16), IN p_dead BIGINT, IN p_state VARCHAR(16))
MODIFIES SQL DATA
BEGIN
  DECLARE v_acct BIGINT UNSIGNED DEFAULT NULL;
  DECLARE v_amount BIGINT DEFAULT 0;
  DECLARE v_charged BIGINT DEFAULT 0;
  DECLARE v_granted BIGINT DEFAULT NULL;
  DECLARE v_dead BIGINT DEFAULT 0;
  DECLARE v_state VARCHAR(16) DEFAULT NULL;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;
  START TRANSACTION;
  SELECT account_id, amount, COALESCE(charged, 0), granted, state
    INTO v_acct, v_amount, v_charged, v_granted, v_state
    FROM holds WHERE id = p_lease AND lease = 1 FOR UPDATE;
  IF v_state IS NULL THEN
    ROLLBACK;
    SELECT 1;
  ELSEIF v_state <> 'open' THEN
    ROLLBACK;
    SELECT 2;
  ELSE
    SET v_dead = LEAST(GREATEST(p_dead, 0), v_amount - v_charged);
    IF p_state = 'expired_settled' AND v_granted IS NOT NULL THEN
      SET v_dead = LEAST(v_dead, GREATEST(v_granted - v_charged, 0));
    END IF;
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
