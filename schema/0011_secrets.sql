-- 0011_secrets.sql: provider keys sealed to their endpoint; a keyed audit chain
-- seal_version 1: AES-GCM associated data "provider_id:key_pub" (0005).  2: the provider's id,
-- kind and base URL and the key's public id (upstream.c key_aad), so a key repointed in the
-- database no longer opens.  `tollgate provider reseal` moves version 1 rows to 2.
ALTER TABLE upstream_keys
  ADD COLUMN seal_version TINYINT UNSIGNED NOT NULL DEFAULT 1 AFTER secret_enc;

-- hash_alg 1: row_hash = SHA-256(prev_hash || row) (0002).  2: HMAC-SHA-256 under a key
-- derived from the master key (audit.c), so database write access alone cannot rewrite
-- history.  Rows written before this migration keep 1 and verify under the old rule.
ALTER TABLE audit_log
  ADD COLUMN hash_alg TINYINT UNSIGNED NOT NULL DEFAULT 1 AFTER row_hash;

-- The audit key's check value (HMAC of a fixed label under the audit key): set by the first
-- keyed row, so verify and appends can tell a wrong master key from a tampered row.
ALTER TABLE audit_head
  ADD COLUMN key_check BINARY(32) NULL AFTER last_hash;
