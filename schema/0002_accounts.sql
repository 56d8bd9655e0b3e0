-- 0002_accounts.sql: users, accounts, API keys, sessions, invites, ledger, limits, audit log
-- Money is BIGINT nano-USD.  Public ids are opaque; numeric ids never leave the database.

CREATE TABLE users (
  id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  public_id      VARCHAR(32)  NOT NULL,
  email          VARCHAR(254) NOT NULL,
  username       VARCHAR(32)  NULL,
  name           VARCHAR(128) NULL,
  password_hash  VARCHAR(255) NOT NULL,
  role           ENUM('user','admin') NOT NULL DEFAULT 'user',
  status         ENUM('active','suspended','deleted') NOT NULL DEFAULT 'active',
  user_group     VARCHAR(64)  NOT NULL DEFAULT 'default',
  commission_bp  INT UNSIGNED NULL,         -- basis points; NULL = the group's or config default
  settings       TEXT         NOT NULL,     -- JSON object
  created_at     DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  updated_at     DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  deleted_at     DATETIME(6)  NULL,
  UNIQUE KEY uq_users_public (public_id),
  UNIQUE KEY uq_users_email (email),
  UNIQUE KEY uq_users_username (username)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE accounts (
  user_id          BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  balance          BIGINT NOT NULL DEFAULT 0,
  reserved         BIGINT NOT NULL DEFAULT 0,
  overdraft_limit  BIGINT NOT NULL DEFAULT 0,
  updated_at       DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  CONSTRAINT chk_accounts_balance CHECK (balance >= -overdraft_limit),
  CONSTRAINT chk_accounts_reserved CHECK (reserved >= 0),
  CONSTRAINT fk_accounts_user FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE api_keys (
  id                  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  public_id           VARCHAR(32)  NOT NULL,
  user_id             BIGINT UNSIGNED NOT NULL,
  key_hash            BINARY(32)   NOT NULL,
  prev_hash           BINARY(32)   NULL,      -- the secret before the last rotation
  prev_valid_until    DATETIME(6)  NULL,      -- ...accepted until then
  prefix              VARCHAR(24)  NOT NULL,
  last4               CHAR(4)      NOT NULL,
  name                VARCHAR(128) NOT NULL DEFAULT '',
  environment         ENUM('live','test','staging','dev') NOT NULL DEFAULT 'live',
  permissions         SET('read','write','admin') NOT NULL DEFAULT 'read,write',
  is_active           TINYINT(1)   NOT NULL DEFAULT 1,
  is_primary          TINYINT(1)   NOT NULL DEFAULT 0,
  expires_at          DATETIME(6)  NULL,
  max_requests        BIGINT UNSIGNED NULL,
  requests_used       BIGINT UNSIGNED NOT NULL DEFAULT 0,
  credit_limit        BIGINT NULL,
  spent               BIGINT NOT NULL DEFAULT 0,
  ip_allowlist        TEXT         NOT NULL,  -- JSON array of addresses/CIDRs
  referrer_allowlist  TEXT         NOT NULL,  -- JSON array of host patterns
  allowed_models      TEXT         NOT NULL,  -- JSON array of model ids
  created_at          DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  last_used_at        DATETIME(6)  NULL,
  revoked_at          DATETIME(6)  NULL,
  UNIQUE KEY uq_keys_public (public_id),
  UNIQUE KEY uq_keys_hash (key_hash),
  UNIQUE KEY uq_keys_prev (prev_hash),
  KEY ix_keys_user (user_id, revoked_at),
  CONSTRAINT fk_keys_user FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE sessions (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  token_hash  BINARY(32)  NOT NULL,
  user_id     BIGINT UNSIGNED NOT NULL,
  ip          VARCHAR(64) NULL,
  created_at  DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  expires_at  DATETIME(6) NOT NULL,
  revoked_at  DATETIME(6) NULL,
  UNIQUE KEY uq_sessions_hash (token_hash),
  KEY ix_sessions_user (user_id),
  CONSTRAINT fk_sessions_user FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE auth_failures (
  subject       VARCHAR(300) NOT NULL PRIMARY KEY,   -- "email:..." or "ip:..."
  window_start  DATETIME(6)  NOT NULL,
  failures      INT UNSIGNED NOT NULL DEFAULT 0
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE invites (
  code_hash   BINARY(32)  NOT NULL PRIMARY KEY,
  created_by  BIGINT UNSIGNED NULL,
  created_at  DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  expires_at  DATETIME(6) NOT NULL,
  used_by     BIGINT UNSIGNED NULL,
  used_at     DATETIME(6) NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Append-only: amount is the signed effect on balance + reserved.
CREATE TABLE ledger_entries (
  id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  account_id     BIGINT UNSIGNED NOT NULL,
  hold_id        BINARY(16)  NULL,
  kind           ENUM('topup','adjust','hold','release','charge','refund') NOT NULL,
  amount         BIGINT      NOT NULL,
  dedupe_key     VARBINARY(80) NOT NULL,
  note           VARCHAR(500) NULL,
  actor_user_id  BIGINT UNSIGNED NULL,
  created_at     DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  UNIQUE KEY uq_ledger_dedupe (dedupe_key),
  KEY ix_ledger_account (account_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- NULL limit = unlimited.  scope 'user' has key_id 0, scope 'key' has the key's id.
CREATE TABLE rate_limit_rules (
  user_id              BIGINT UNSIGNED NOT NULL,
  key_id               BIGINT UNSIGNED NOT NULL DEFAULT 0,
  requests_per_minute  BIGINT UNSIGNED NULL,
  requests_per_hour    BIGINT UNSIGNED NULL,
  requests_per_day     BIGINT UNSIGNED NULL,
  tokens_per_minute    BIGINT UNSIGNED NULL,
  tokens_per_hour      BIGINT UNSIGNED NULL,
  tokens_per_day       BIGINT UNSIGNED NULL,
  updated_at           DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (user_id, key_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Hash-chained: row_hash = SHA-256(prev_hash || canonical row).  audit_head serialises appends.
CREATE TABLE audit_log (
  id             BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  at             DATETIME(6) NOT NULL,
  actor_user_id  VARCHAR(32) NULL,
  actor_key_id   VARCHAR(32) NULL,
  action         VARCHAR(64) NOT NULL,
  target_type    VARCHAR(32) NOT NULL,
  target_id      VARCHAR(64) NULL,
  ip             VARCHAR(64) NULL,
  request_id     VARCHAR(128) NULL,
  before_json    MEDIUMTEXT  NULL,
  after_json     MEDIUMTEXT  NULL,
  prev_hash      BINARY(32)  NOT NULL,
  row_hash       BINARY(32)  NOT NULL,
  KEY ix_audit_action (action, id),
  KEY ix_audit_target (target_id, id),
  KEY ix_audit_actor (actor_user_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE audit_head (
  id         TINYINT UNSIGNED NOT NULL PRIMARY KEY,
  last_id    BIGINT UNSIGNED NOT NULL,
  last_hash  BINARY(32) NOT NULL
) ENGINE=InnoDB;

INSERT INTO audit_head (id, last_id, last_hash) VALUES (1, 0, REPEAT(CHAR(0), 32));
