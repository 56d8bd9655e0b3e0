-- 0017_money.sql: money in (issue 18): redemption codes, signed payment webhooks, and where
-- a top-up came from.
-- A batch of redemption codes made by an admin (POST /admin/redeem-codes): each of its count
-- codes adds amount (nano-USD) to the account of whoever redeems it, up to uses_per_code
-- times (each user once), until expires_at (NULL: never).  The codes themselves are stored
-- only as SHA-256 hashes (redeem_codes) and shown once, when the batch is made.
CREATE TABLE IF NOT EXISTS redeem_batches (
  id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  public_id      VARCHAR(32)  NOT NULL,
  amount         BIGINT       NOT NULL,
  code_count     INT UNSIGNED NOT NULL,
  uses_per_code  INT UNSIGNED NOT NULL DEFAULT 1,
  note           VARCHAR(500) NULL,
  created_by     BIGINT UNSIGNED NULL,
  created_at     DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  expires_at     DATETIME(6)  NULL,
  UNIQUE KEY uq_redeem_batches_public (public_id),
  CONSTRAINT chk_redeem_amount CHECK (amount > 0),
  CONSTRAINT chk_redeem_uses CHECK (uses_per_code >= 1)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- uses_left goes down by one per redemption, only while above zero (a conditional UPDATE
-- in the redeeming transaction): a use is spent exactly once under any concurrency.
CREATE TABLE IF NOT EXISTS redeem_codes (
  code_hash  BINARY(32)   NOT NULL PRIMARY KEY,
  batch_id   BIGINT UNSIGNED NOT NULL,
  uses_left  INT UNSIGNED NOT NULL,
  KEY ix_redeem_codes_batch (batch_id),
  CONSTRAINT fk_redeem_codes_batch FOREIGN KEY (batch_id) REFERENCES redeem_batches (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row per redemption, in the same transaction as its ledger entry; a user redeems a
-- code at most once (uq_redeem_uses_user), however many uses it has.
CREATE TABLE IF NOT EXISTS redeem_uses (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  batch_id     BIGINT UNSIGNED NOT NULL,
  code_hash    BINARY(32)   NOT NULL,
  user_id      BIGINT UNSIGNED NOT NULL,
  created_at   DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  UNIQUE KEY uq_redeem_uses_user (code_hash, user_id),
  KEY ix_redeem_uses_batch (batch_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Payment events credited through POST /billing/webhook, one row per provider event id:
-- the UNIQUE key makes a redelivered event a duplicate that credits nothing.
CREATE TABLE IF NOT EXISTS billing_events (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  event_id    VARCHAR(64)  NOT NULL,
  event_type  VARCHAR(64)  NOT NULL,
  user_id     BIGINT UNSIGNED NOT NULL,
  amount      BIGINT       NOT NULL,
  created_at  DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  UNIQUE KEY uq_billing_events_event (event_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Where a top-up came from: 'code' (a redeemed code; source_ref the batch's public id),
-- 'payment' (a webhook; source_ref the event id), NULL for the older kinds of entry, which
-- GET /user/topups tells apart by their actor ('admin' with one, 'operator' without).
ALTER TABLE ledger_entries
  ADD COLUMN IF NOT EXISTS source VARCHAR(16) NULL,
  ADD COLUMN IF NOT EXISTS source_ref VARCHAR(80) NULL;
