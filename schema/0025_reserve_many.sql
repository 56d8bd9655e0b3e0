-- 0025_reserve_many.sql: several exact holds of one account and key in one transaction (issue 20)
-- On the exact path every reservation of a user queues on that user's accounts row (and on
-- the key's api_keys row): one transaction each, one lock wait, sleep and wake-up each.  The
-- holds a worker process has waiting at once for the same account and key are taken here
-- together (domain/holdq.c): one INSERT of their rows, one UPDATE of the account and one of
-- the key for their sum, one COMMIT.  The same guards as tg_reserve, on the sum: when the
-- sum does not fit, nothing is held (ROLLBACK) and each hold is tried alone with tg_reserve,
-- so a batch refuses nothing a hold alone would have been given.
-- p_holds: a JSON array of [id as 32 hex digits, amount], amounts > 0, in the order the
-- holds are told their balance: the balance after the whole batch comes back, and the n-th
-- hold's is that plus the amounts after it (as if they had been taken one by one in order).
-- No Idempotency-Key here: such a hold's replay lookup is tg_reserve's.
DROP PROCEDURE IF EXISTS tg_reserve_many;
CREATE PROCEDURE tg_reserve_many(
  IN p_user BIGINT UNSIGNED, IN p_key BIGINT UNSIGNED, IN p_holds TEXT, IN p_ttl INT UNSIGNED)
MODIFIES SQL DATA
BEGIN
  DECLARE v_short INT DEFAULT 0;
  DECLARE v_n INT DEFAULT 0;
  DECLARE v_total BIGINT DEFAULT 0;
  DECLARE v_min BIGINT DEFAULT 0;
  DECLARE v_balance BIGINT DEFAULT NULL;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;
  SELECT COUNT(*), COALESCE(SUM(j.amount), 0), COALESCE(MIN(j.amount), 0)
    INTO v_n, v_total, v_min
    FROM JSON_TABLE(p_holds, '$[*]' COLUMNS (amount BIGINT PATH '$[1]' ERROR ON EMPTY)) AS j;
  IF v_n = 0 OR v_min <= 0 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'tg_reserve_many: no holds, or an amount not above 0';
  END IF;
  START TRANSACTION;
  INSERT INTO holds (id, account_id, api_key_id, idem_key, amount, lease, expires_at)
    SELECT UNHEX(j.id), p_user, p_key, NULL, j.amount, 0, NOW(6) + INTERVAL p_ttl SECOND
    FROM JSON_TABLE(p_holds, '$[*]' COLUMNS (
      id CHAR(32) PATH '$[0]' ERROR ON EMPTY,
      amount BIGINT PATH '$[1]' ERROR ON EMPTY)) AS j;
  SET @tg_reserve_balance = NULL;
  UPDATE accounts
    SET balance = (@tg_reserve_balance := balance - v_total), reserved = reserved + v_total
    WHERE user_id = p_user AND balance - v_total >= -overdraft_limit;
  IF ROW_COUNT() <> 1 THEN
    SET v_short = 1;
  ELSEIF p_key <> 0 THEN
    UPDATE api_keys SET spent = spent + v_total
      WHERE id = p_key AND (credit_limit IS NULL OR spent + v_total <= credit_limit);
    IF ROW_COUNT() <> 1 THEN
      SET v_short = 2;
    END IF;
  END IF;
  IF v_short <> 0 THEN
    ROLLBACK;
  ELSE
    COMMIT;
    SET v_balance = @tg_reserve_balance;
  END IF;
  SELECT v_short, v_balance, v_n;
END;
