-- Aidant server schema, version 9 (as SQLite's 0009_wire_ops.sql): ops
-- stored as sync-core wire bytes in `wire`; older rows keep their JSON in
-- `body` until converted at open. A visit's ops are read by cursor after
-- the kept state's (`ledger::state`): index them in that order, as
-- SQLite's index on `visit_id` (which holds the rowid, the cursor) does.
ALTER TABLE ops ADD COLUMN wire BYTEA;
CREATE INDEX ops_by_visit_cursor ON ops (visit_id, cursor);
DROP INDEX ops_by_visit;
-- No query reads ops by operation (pulls go by cursor and visit).
DROP INDEX IF EXISTS ops_by_operation;
-- Its ops are converted at the next open (`ledger::open`), which then
-- records it in meta.
DELETE FROM meta WHERE key = 'ops_in_wire';
