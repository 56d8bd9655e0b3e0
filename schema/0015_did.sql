-- 0015_did.sql: DID identity (issue 18, seed 003): the did:key a user was made for at first
-- contact.  Unique, so racing first requests of one DID make one user: the second insert
-- fails on this key and reads the first's row.  NULL for users who registered.
ALTER TABLE users
  ADD COLUMN IF NOT EXISTS did VARCHAR(128) NULL AFTER email,
  ADD UNIQUE KEY IF NOT EXISTS uq_users_did (did);
