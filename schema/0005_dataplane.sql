-- 0005_dataplane.sql: upstream provider keys (encrypted) and one usage record per metered request
-- Secrets are AES-256-GCM under a master key that never enters the database:
-- secret_enc = nonce(12) || ciphertext || tag(16), associated data "provider_id:id".

CREATE TABLE upstream_keys (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  public_id    VARCHAR(32)  NOT NULL,
  provider_id  VARCHAR(32)  NOT NULL,
  label        VARCHAR(128) NOT NULL DEFAULT '',
  secret_enc   VARBINARY(1100) NULL,       -- NULL only between insert and seal
  last4        VARCHAR(4)   NOT NULL,
  enabled      TINYINT(1)   NOT NULL DEFAULT 1,
  created_at   DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  last_used_at DATETIME(6)  NULL,
  UNIQUE KEY uq_upstream_keys_public (public_id),
  KEY ix_upstream_keys_provider (provider_id, enabled),
  CONSTRAINT fk_upstream_keys_provider FOREIGN KEY (provider_id) REFERENCES providers (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Money columns are nano-USD; prices are micro-USD per million tokens as in models.
CREATE TABLE usage_records (
  id                 BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  request_id         VARCHAR(128) NOT NULL,
  user_id            BIGINT UNSIGNED NOT NULL,
  api_key_id         BIGINT UNSIGNED NOT NULL,
  hold_id            BINARY(16)   NULL,
  endpoint           ENUM('chat','completions','embeddings') NOT NULL,
  model_id           VARCHAR(128) NOT NULL,
  provider_id        VARCHAR(32)  NULL,
  upstream_key_id    BIGINT UNSIGNED NULL,
  upstream_model     VARCHAR(128) NULL,
  prompt_tokens      INT UNSIGNED NOT NULL DEFAULT 0,
  completion_tokens  INT UNSIGNED NOT NULL DEFAULT 0,
  cached_tokens      INT UNSIGNED NOT NULL DEFAULT 0,
  reasoning_tokens   INT UNSIGNED NOT NULL DEFAULT 0,
  input_price        BIGINT NOT NULL DEFAULT 0,
  output_price       BIGINT NOT NULL DEFAULT 0,
  cached_price       BIGINT NOT NULL DEFAULT 0,
  commission_bp      INT UNSIGNED NOT NULL DEFAULT 0,
  base_cost          BIGINT NOT NULL DEFAULT 0,
  commission         BIGINT NOT NULL DEFAULT 0,
  charge             BIGINT NOT NULL DEFAULT 0,
  upstream_cost      BIGINT NULL,             -- what the provider said it charged (OpenRouter)
  status             ENUM('ok','error','client_gone') NOT NULL,
  http_status        SMALLINT UNSIGNED NOT NULL,
  error              VARCHAR(500) NULL,
  latency_ms         INT UNSIGNED NOT NULL DEFAULT 0,
  ttft_ms            INT UNSIGNED NULL,
  stream             TINYINT(1) NOT NULL DEFAULT 0,
  estimated          TINYINT(1) NOT NULL DEFAULT 0,
  attempts           TINYINT UNSIGNED NOT NULL DEFAULT 1,
  idem_key           VARBINARY(64) NULL,
  response           MEDIUMBLOB NULL,         -- kept for Idempotency-Key replays only
  response_type      VARCHAR(64) NULL,
  created_at         DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  UNIQUE KEY uq_usage_request (request_id),
  UNIQUE KEY uq_usage_idem (api_key_id, idem_key),
  KEY ix_usage_user_time (user_id, created_at),
  KEY ix_usage_user_model (user_id, model_id, created_at),
  KEY ix_usage_time (created_at),
  CONSTRAINT chk_usage_money CHECK (base_cost >= 0 AND commission >= 0 AND charge >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
