-- 0016_openrouter.sql: per-user OpenRouter keys made through OpenRouter's provisioning API
-- (issue 18, [openrouter] provisioning_key_file).  One key a user; its secret sealed under the
-- master key like upstream_keys.secret_enc (AES-256-GCM, bound to the user, the provider and
-- its endpoint); its limit at OpenRouter kept at the user's spendable balance by the
-- housekeeping job, which also deletes the key at OpenRouter once the user is deleted.
CREATE TABLE IF NOT EXISTS or_user_keys (
  user_id      BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  provider_id  VARCHAR(32)  NOT NULL,
  key_hash     VARCHAR(128) NOT NULL,          -- OpenRouter's id of the key ({hash} in its API)
  secret_enc   VARBINARY(1100) NOT NULL,
  last4        VARCHAR(4)   NOT NULL,
  limit_nano   BIGINT NULL,                    -- the limit last set at OpenRouter
  synced_nano  BIGINT NULL,                    -- the spendable balance it was set from
  created_at   DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  synced_at    DATETIME(6)  NULL,
  CONSTRAINT fk_or_user_keys_user FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
