-- 0001_init.sql: foundation: instance settings (later migrations add accounts, keys, ledger)
-- Every table: InnoDB, utf8mb4, binary collation for identifiers; money is BIGINT nano-USD.

CREATE TABLE settings (
  name        VARCHAR(64)  NOT NULL PRIMARY KEY,
  value       TEXT         NOT NULL,
  updated_at  TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
                           ON UPDATE CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

INSERT INTO settings (name, value) VALUES ('instance_created', DATE_FORMAT(UTC_TIMESTAMP(), '%Y-%m-%dT%H:%i:%sZ'));
