-- Aidant server schema, version 11: ops stored in segments. A push's
-- accepted ops of one visit are stored in one `ops` row (up to
-- `db::sync::SEGMENT_OPS` of them, as one sync-core wire batch in `wire`),
-- under one cursor: a shift's sync then writes a row per visit instead of
-- a row, and two index entries, per op. `seq` is the segment's first op's
-- sequence number and `last_seq` its last (NULL in rows stored before:
-- one op each). Every stored op's id is kept in `op_ids`, with the cursor
-- of the segment that holds it: it is what keeps each op stored once, so
-- `ops` loses its UNIQUE (replica, seq) (an index entry more per commit).
CREATE TABLE op_ids (
    replica TEXT NOT NULL,
    seq     INTEGER NOT NULL,
    cursor  INTEGER NOT NULL,
    PRIMARY KEY (replica, seq)
) WITHOUT ROWID;
INSERT INTO op_ids (replica, seq, cursor) SELECT replica, seq, cursor FROM ops;
CREATE TABLE ops_v11 (
    cursor       INTEGER PRIMARY KEY AUTOINCREMENT,
    replica      TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    last_seq     INTEGER,
    visit_id     TEXT NOT NULL,
    operation_id TEXT NOT NULL,
    body         TEXT NOT NULL,
    wire         BLOB,
    device_id    TEXT,
    received_at  TEXT NOT NULL
);
INSERT INTO ops_v11 (cursor, replica, seq, visit_id, operation_id, body, wire, device_id, received_at)
    SELECT cursor, replica, seq, visit_id, operation_id, body, wire, device_id, received_at FROM ops;
-- The cursor sequence's high-water mark, which grants also draw from
-- (`db::scope`), carries over to the new table.
DELETE FROM sqlite_sequence WHERE name = 'ops_v11';
INSERT INTO sqlite_sequence (name, seq) SELECT 'ops_v11', seq FROM sqlite_sequence WHERE name = 'ops';
DROP TABLE ops;
ALTER TABLE ops_v11 RENAME TO ops;
CREATE INDEX ops_by_visit ON ops (visit_id);
