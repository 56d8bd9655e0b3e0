-- 0018_conversations.sql: conversation logs (issue 18, seed 002's Conversation table)
-- A user's own choice of what is kept of their requests, capped by the operator's
-- [logging] conversations: the lower of the two is in force (off < metadata < full).
ALTER TABLE users
  ADD COLUMN IF NOT EXISTS conversation_log ENUM('off','metadata','full') NOT NULL DEFAULT 'off';

-- One row per logged request, written by the journal's write-out (never on the request
-- path).  body: the request's body and the answer's text (each capped), deflated, then
-- sealed with AES-256-GCM under a key derived from the master key, bound to request_id and
-- user_id (convlog.c); NULL at the metadata level.  request_id is the public id.
CREATE TABLE IF NOT EXISTS conversations (
  id                 BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  request_id         VARCHAR(128) NOT NULL,
  user_id            BIGINT UNSIGNED NOT NULL,
  api_key_id         BIGINT UNSIGNED NOT NULL DEFAULT 0,
  level              ENUM('metadata','full') NOT NULL,
  api                VARCHAR(16)  NOT NULL,
  model_id           VARCHAR(128) NOT NULL,
  stream             TINYINT(1)   NOT NULL DEFAULT 0,
  status             ENUM('ok','error','client_gone') NOT NULL,
  http_status        SMALLINT UNSIGNED NOT NULL,
  prompt_tokens      INT UNSIGNED NOT NULL DEFAULT 0,
  completion_tokens  INT UNSIGNED NOT NULL DEFAULT 0,
  charge             BIGINT NOT NULL DEFAULT 0,
  latency_ms         INT UNSIGNED NOT NULL DEFAULT 0,
  body               MEDIUMBLOB NULL,
  body_bytes         INT UNSIGNED NOT NULL DEFAULT 0,  -- before deflating
  truncated          TINYINT(1)   NOT NULL DEFAULT 0,  -- a body was cut at its cap
  created_at         DATETIME(6)  NOT NULL,            -- when the request came in
  UNIQUE KEY uq_conv_request (request_id),
  KEY ix_conv_user (user_id, id),
  KEY ix_conv_time (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
