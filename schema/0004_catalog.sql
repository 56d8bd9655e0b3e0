-- 0004_catalog.sql: providers, the model catalogue and each model's deployments with prices
-- Prices are integer micro-USD per million tokens.  schema/pricing.json seeds them
-- (`tollgate migrate` adds what is missing and never overwrites an operator's change).

CREATE TABLE providers (
  id          VARCHAR(32)  NOT NULL PRIMARY KEY,
  kind        ENUM('openai','deepseek','openrouter','openai-compatible','anthropic','gemini') NOT NULL,
  name        VARCHAR(128) NOT NULL,
  base_url    VARCHAR(512) NOT NULL,
  enabled     TINYINT(1)   NOT NULL DEFAULT 1,
  created_at  DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE models (
  id                  VARCHAR(128) NOT NULL PRIMARY KEY,   -- vendor/model, as OpenRouter names it
  name                VARCHAR(128) NOT NULL,
  vendor              VARCHAR(64)  NOT NULL,
  context_length      INT UNSIGNED NOT NULL,
  input_price         BIGINT NOT NULL,     -- micro-USD per million prompt tokens
  output_price        BIGINT NOT NULL,     -- micro-USD per million completion tokens
  cached_input_price  BIGINT NULL,
  price_date          DATE NOT NULL,
  enabled             TINYINT(1) NOT NULL DEFAULT 1,
  created_at          DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  updated_at          DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  CONSTRAINT chk_models_prices CHECK (input_price >= 0 AND output_price >= 0 AND
                                      (cached_input_price IS NULL OR cached_input_price >= 0))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE model_routes (
  model_id            VARCHAR(128) NOT NULL,
  provider_id         VARCHAR(32)  NOT NULL,
  upstream_model      VARCHAR(128) NOT NULL,
  input_price         BIGINT NOT NULL,
  output_price        BIGINT NOT NULL,
  cached_input_price  BIGINT NULL,
  priority            INT NOT NULL DEFAULT 0,
  weight              INT UNSIGNED NOT NULL DEFAULT 1,
  enabled             TINYINT(1) NOT NULL DEFAULT 1,
  PRIMARY KEY (model_id, provider_id),
  CONSTRAINT fk_routes_model FOREIGN KEY (model_id) REFERENCES models (id),
  CONSTRAINT fk_routes_provider FOREIGN KEY (provider_id) REFERENCES providers (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
