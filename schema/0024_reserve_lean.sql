-- 0024_reserve_lean.sql: the exact hold without its ledger marker, told its own balance (issue 20)
-- On the exact path (no lease: an Idempotency-Key, a key with a credit limit, a user near
-- their balance) tg_reserve is the request's one synchronous round trip, and every
-- reservation of a user queues on that user's accounts row.
-- * The 'hold' ledger entry (amount 0) went: a hold's record is its row in holds, which the
--   reserve writes anyway; the ledger records what moves money, the hold's charge and
--   release when it closes.  Nothing reads the marker (ledger check, usage, replays and the
--   ambiguous-commit lookup all use holds).  Holds taken before this file keep theirs.
--   An insert into the largest table of the ledger, with its unique dedupe index, was the
--   dearest statement of the seven.
-- * A defect went: the balance told after the hold was read after the COMMIT, so it could
--   count other requests' holds committed in between (t_concurrent_reserves_never_overdraw
--   saw two requests told the same balance).  The UPDATE itself hands it over now, in a
--   session variable: a SELECT inside the transaction would be right too, but it holds the
--   row lock for one more statement (measured: most of what dropping the marker bought).
DROP PROCEDURE IF EXISTS tg_reserve;
CREATE PROCEDURE tg_reserve(
  IN p_id BINARY(16), IN p_user BIGINT UNSIGNED, IN p_key BIGINT UNSIGNED,
  IN p_idem VARBINARY(64), IN p_amount BIGINT, IN p_ttl INT UNSIGNED, IN p_lease TINYINT)
MODIFIES SQL DATA
BEGIN
  DECLARE v_short INT DEFAULT 0;
  DECLARE v_balance BIGINT DEFAULT NULL;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;
  START TRANSACTION;
  INSERT INTO holds (id, account_id, api_key_id, idem_key, amount, lease, expires_at)
    VALUES (p_id, p_user, p_key, p_idem, p_amount, p_lease, NOW(6) + INTERVAL p_ttl SECOND);
  -- One conditional UPDATE: no read-then-write window under concurrency.  It hands over
  -- the balance it writes, read under its row lock: this hold's balance after.  (Only
  -- assigned here and read after it: the order MariaDB leaves undefined is that of a
  -- variable read and set in one statement.)
  SET @tg_reserve_balance = NULL;
  UPDATE accounts
    SET balance = (@tg_reserve_balance := balance - p_amount), reserved = reserved + p_amount
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
    COMMIT;
    SET v_balance = @tg_reserve_balance;
  END IF;
  -- A refusal, or a zero hold of an account below its floor (after an overrun): as read now.
  IF v_balance IS NULL THEN
    SET v_balance = (SELECT balance FROM accounts WHERE user_id = p_user);
  END IF;
  SELECT v_short, v_balance;
END;
