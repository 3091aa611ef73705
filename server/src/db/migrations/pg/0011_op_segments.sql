-- Aidant server schema, version 11 (as SQLite's 0011_op_segments.sql; there
-- is no version 10 here): ops stored in segments, a push's accepted ops of
-- one visit to a row under one cursor, `seq` the first op's sequence number
-- and `last_seq` the last (NULL in rows stored before: one op each); every
-- stored op's id in `op_ids`, with its segment's cursor, which keeps each
-- op stored once instead of `ops`' UNIQUE (replica, seq).
ALTER TABLE ops ADD COLUMN last_seq BIGINT;
CREATE TABLE op_ids (
    replica TEXT COLLATE "C" NOT NULL,
    seq     BIGINT NOT NULL,
    cursor  BIGINT NOT NULL,
    PRIMARY KEY (replica, seq)
);
INSERT INTO op_ids (replica, seq, cursor) SELECT replica, seq, cursor FROM ops;
ALTER TABLE ops DROP CONSTRAINT IF EXISTS ops_replica_seq_key;
