-- Aidant server schema, version 10 (SQLite only): `visit_states` as an
-- ordinary rowid table with an index on `visit_id`, instead of WITHOUT
-- ROWID. A WITHOUT ROWID table keeps each whole row in its key's B-tree,
-- and a visit's state (a few KiB) spills onto overflow pages; SQLite then
-- copies the whole row, overflow and all, for each key it compares while
-- seeking. Every push's lookup of a visit's kept state paid that at each
-- level of the tree (the load bench: 4% of the writer's time, plus a third
-- of its copying). The index holds only the id.
CREATE TABLE visit_states_v10 (
    visit_id TEXT PRIMARY KEY REFERENCES visits (id),
    state BLOB NOT NULL,
    through INTEGER NOT NULL
);
INSERT INTO visit_states_v10 (visit_id, state, through)
    SELECT visit_id, state, through FROM visit_states;
DROP TABLE visit_states;
ALTER TABLE visit_states_v10 RENAME TO visit_states;
