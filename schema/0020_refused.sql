-- 0020_refused.sql: refused requests in their owner's request log (issue 18, seed 003's request states)
-- A metered request of an identified caller refused before any upstream call (429 by a rate
-- limit, 402 for want of credit) is a usage record with status 'refused': charge 0, no
-- tokens, no hold.  Written in batches by the journal's write-out, never on the request path.
-- Aggregates (bills, summaries, the monitor) leave them out: they are not requests served.
-- Appending a value to an ENUM is an instant ALTER: no copy of the table.
ALTER TABLE usage_records
  MODIFY status ENUM('ok','error','client_gone','refused') NOT NULL;
