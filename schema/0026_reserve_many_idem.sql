-- 0026_reserve_many_idem.sql: holds with an Idempotency-Key taken together too (issue 20)
-- tg_reserve_many as in 0025, but a hold may carry its Idempotency-Key: p_holds items are
-- [id as 32 hex digits, amount] or [id, amount, key].  A key used before (or twice in the
-- batch) fails the INSERT on holds' unique (account, key, idem_key) with 1062, the exit
-- handler rolls everything back, and the caller tries each hold alone with tg_reserve,
-- whose duplicate is the replay's signal: a batch never hides a used key.
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
    SELECT UNHEX(j.id), p_user, p_key, j.idem, j.amount, 0, NOW(6) + INTERVAL p_ttl SECOND
    FROM JSON_TABLE(p_holds, '$[*]' COLUMNS (
      id CHAR(32) PATH '$[0]' ERROR ON EMPTY,
      amount BIGINT PATH '$[1]' ERROR ON EMPTY,
      idem VARCHAR(64) PATH '$[2]' NULL ON EMPTY)) AS j;
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
