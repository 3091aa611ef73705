-- Aidant server schema, version 3: need-to-know at the record.

-- Who created a visit (the user of the device that pushed its create op; NULL
-- for visits the server itself created) and the team it belongs to (that
-- user's team in the operation when the visit was created; it never moves).
ALTER TABLE visits ADD COLUMN created_by TEXT;
ALTER TABLE visits ADD COLUMN team_id TEXT;
UPDATE visits SET created_by = (
    SELECT d.user_id FROM ops o JOIN devices d ON d.id = o.device_id
     WHERE o.visit_id = visits.id ORDER BY o.cursor LIMIT 1);
UPDATE visits SET team_id = (
    SELECT m.team_id FROM members m
     WHERE m.user_id = visits.created_by AND m.operation_id = visits.operation_id);
CREATE INDEX visits_by_team ON visits (team_id);

-- Users whose devices have written to a visit (its creator among them).
CREATE TABLE visit_writers (
    visit_id TEXT NOT NULL,
    user_id  TEXT NOT NULL,
    PRIMARY KEY (visit_id, user_id)
) WITHOUT ROWID;
INSERT OR IGNORE INTO visit_writers (visit_id, user_id)
    SELECT DISTINCT o.visit_id, d.user_id FROM ops o JOIN devices d ON d.id = o.device_id;
CREATE INDEX visit_writers_by_user ON visit_writers (user_id);

-- Events that make a visit's history due to a user's or a team's devices,
-- placed in the same sequence as `ops.cursor` so a pull meets them in order:
-- `share` (a supervisor shared the visit; also a reason to hold it) and
-- `team` (the user joined the visit's team; the team rule is the reason).
CREATE TABLE grants (
    cursor     INTEGER PRIMARY KEY,
    visit_id   TEXT NOT NULL REFERENCES visits (id),
    kind       TEXT NOT NULL CHECK (kind IN ('share', 'team')),
    user_id    TEXT,
    team_id    TEXT,
    granted_by TEXT NOT NULL,
    granted_at TEXT NOT NULL,
    CHECK ((user_id IS NULL) <> (team_id IS NULL))
);
CREATE INDEX grants_by_visit ON grants (visit_id);
CREATE INDEX grants_by_user ON grants (user_id, cursor);
CREATE INDEX grants_by_team ON grants (team_id, cursor);

-- "Who has read this record": audit rows by subject.
CREATE INDEX audit_by_subject ON audit (subject, seq);
