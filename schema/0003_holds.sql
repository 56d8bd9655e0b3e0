-- 0003_holds.sql: credit holds for reserve-then-settle billing (see doc and reference/ledger.md)
-- A hold moves money from balance to reserved; settling it charges exactly once and returns
-- the rest.  Ledger convention: ledger_entries.amount is the signed effect on
-- balance + reserved, so a hold and its release record 0 and a charge records -charge.

CREATE TABLE holds (
  id           BINARY(16)   NOT NULL PRIMARY KEY,
  account_id   BIGINT UNSIGNED NOT NULL,
  api_key_id   BIGINT UNSIGNED NOT NULL,
  idem_key     VARBINARY(64) NULL,
  amount       BIGINT       NOT NULL,
  charged      BIGINT       NULL,
  state        ENUM('open','settled','expired_settled') NOT NULL DEFAULT 'open',
  created_at   DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  expires_at   DATETIME(6)  NOT NULL,
  settled_at   DATETIME(6)  NULL,
  UNIQUE KEY uq_holds_idem (api_key_id, idem_key),
  KEY ix_holds_sweep (state, expires_at),
  KEY ix_holds_account (account_id, state),
  CONSTRAINT chk_holds_amount CHECK (amount >= 0),
  CONSTRAINT chk_holds_charged CHECK (charged IS NULL OR charged >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

ALTER TABLE api_keys ADD CONSTRAINT chk_keys_spent CHECK (spent >= 0);
