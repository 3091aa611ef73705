-- Aidant server schema, version 9: ops stored as sync-core wire bytes (a
-- one-op wire batch: about a quarter of the op's JSON), in `wire`. Rows
-- stored before keep their JSON in `body` until the ledger converts them
-- when the database is opened (`ledger::open`); rows written from now on
-- hold '' in `body`. Readers take `wire` when present, else `body`.
ALTER TABLE ops ADD COLUMN wire BLOB;
-- No query reads ops by operation (pulls go by cursor and visit): the
-- index only cost every push a third B-tree insert.
DROP INDEX IF EXISTS ops_by_operation;
-- Its ops are converted at the next open (`ledger::open`), which then
-- records it in meta.
DELETE FROM meta WHERE key = 'ops_in_wire';
