-- Aidant server schema, version 7: each visit's merged state, kept up to date
-- with only the new ops of each push (ops commute, so this is exact) instead
-- of re-folding the visit's whole history (issue 12). `state` is a sync-core
-- snapshot batch of the one visit; `through` is the greatest op cursor it
-- holds. A state whose `through` is not the visit's latest op cursor (a
-- visit stored before this migration, or written by bulk loading) is not
-- used: the visit is folded from its ops and the state written at its next
-- push.
CREATE TABLE visit_states (
    visit_id TEXT PRIMARY KEY REFERENCES visits (id),
    state BLOB NOT NULL,
    through INTEGER NOT NULL
) WITHOUT ROWID;
