-- Aidant server schema, version 11: ops stored in segments. A push's
-- accepted ops of one visit are stored in one `ops` row (up to
-- `db::sync::SEGMENT_OPS` of them, as one sync-core wire batch in `wire`),
-- under one cursor: a shift's sync then writes a row per visit instead of
-- a row, and two index entries, per op. `seq` is the segment's first op's
-- sequence number and `last_seq` its last (NULL in rows stored before:
-- one op each). Every stored op's id is kept in `op_ids`, with the cursor
-- of the segment that holds it: it is what keeps each op stored once.
ALTER TABLE ops ADD COLUMN last_seq INTEGER;
CREATE TABLE op_ids (
    replica TEXT NOT NULL,
    seq     INTEGER NOT NULL,
    cursor  INTEGER NOT NULL,
    PRIMARY KEY (replica, seq)
) WITHOUT ROWID;
INSERT INTO op_ids (replica, seq, cursor) SELECT replica, seq, cursor FROM ops;
