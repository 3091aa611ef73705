-- Aidant server schema, version 2: what day summaries and exports read.

-- One row per visit, derived from its ops at each change (like `visits`):
-- the Europe/London day it started on, its team and force area for grouping,
-- the visit's own day summary, and the export cells already rendered, so an
-- export reads rows instead of replaying ops. `snapshot_version` in `meta`
-- names the format; a server with another version rebuilds every row.
CREATE TABLE visit_exports (
    visit_id     TEXT PRIMARY KEY REFERENCES visits (id),
    operation_id TEXT NOT NULL REFERENCES operations (id),
    day          TEXT,              -- YYYY-MM-DD; NULL when no start time
    started_at   INTEGER,
    team_id      TEXT,              -- team of the creating device's user
    force_area   TEXT NOT NULL,     -- the visit's own, else the operation's
    person_rows  INTEGER NOT NULL,  -- persons listed in `persons`
    summary      TEXT NOT NULL,     -- JSON DaySummary of this visit alone
    row_cells    TEXT NOT NULL,     -- the visit's export cells, packed (export::cells::pack)
    persons      TEXT NOT NULL      -- person cells, row after row, packed
);
-- In export order, covering the visit cells: a visits export reads the index
-- front to back instead of looking up each row (the cells are stored twice).
CREATE INDEX visit_exports_by_day
    ON visit_exports (operation_id, day, started_at, visit_id, team_id, force_area, row_cells);
-- Covers the summary query: a summary reads the index, not the rows.
CREATE INDEX visit_exports_summary ON visit_exports (operation_id, day, team_id, force_area, summary);

-- Every export asked for; the hash and size once its content was all sent.
CREATE TABLE exports (
    id           TEXT PRIMARY KEY,
    operation_id TEXT NOT NULL REFERENCES operations (id),
    from_day     TEXT NOT NULL,
    to_day       TEXT NOT NULL,
    format       TEXT NOT NULL,
    content      TEXT NOT NULL,     -- visits or persons (CSV); all otherwise
    identifying  INTEGER NOT NULL,
    reason       TEXT NOT NULL,
    actor        TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('running', 'completed', 'cancelled', 'failed')),
    completed    INTEGER NOT NULL DEFAULT 0,
    finished_at  TEXT,
    rows         INTEGER,
    bytes        INTEGER,
    sha256       TEXT
);
CREATE INDEX exports_by_created ON exports (created_at);
