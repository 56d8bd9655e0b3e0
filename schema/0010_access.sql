-- 0010_access.sql: the 'keys' permission (who may create, change, rotate and delete API keys)
-- Managing keys needed only 'write', so any key, however restricted, could mint a wider one.
-- Now it needs a dashboard session or a key holding 'keys'.  The primary key each user got at
-- registration managed the user's keys until now and keeps doing so: it gets 'keys' here, as
-- new registration keys do.  Other existing keys do not: a session can give it to them.
ALTER TABLE api_keys MODIFY permissions SET('read','write','admin','keys') NOT NULL DEFAULT 'read,write';

UPDATE api_keys SET permissions = CONCAT(permissions, ',keys')
 WHERE is_primary = 1 AND revoked_at IS NULL AND NOT FIND_IN_SET('keys', permissions);
