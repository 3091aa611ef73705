-- Aidant server schema for PostgreSQL, version 7: the same tables, columns
-- and indexes as SQLite's migrations 0001-0007 together. Integers are BIGINT
-- (SQLite's INTEGER is 64-bit), bytes BYTEA, and text compares byte by byte
-- (COLLATE "C", as SQLite's BINARY) so ids and days sort the same on both.

CREATE TABLE meta (
    key   TEXT COLLATE "C" PRIMARY KEY,
    value TEXT COLLATE "C" NOT NULL
);

CREATE TABLE users (
    id            TEXT COLLATE "C" PRIMARY KEY,
    username      TEXT COLLATE "C" NOT NULL UNIQUE,
    display_name  TEXT COLLATE "C" NOT NULL,
    role          TEXT COLLATE "C" NOT NULL CHECK (role IN ('officer', 'supervisor', 'admin')),
    password_hash TEXT COLLATE "C",
    created_at    TEXT COLLATE "C" NOT NULL
);

CREATE TABLE operations (
    id         TEXT COLLATE "C" PRIMARY KEY,
    name       TEXT COLLATE "C" NOT NULL,
    force_area TEXT COLLATE "C" NOT NULL,
    starts_on  TEXT COLLATE "C" NOT NULL,
    ends_on    TEXT COLLATE "C" NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL,
    retention_days BIGINT NOT NULL DEFAULT 7
);

CREATE TABLE teams (
    id           TEXT COLLATE "C" PRIMARY KEY,
    operation_id TEXT COLLATE "C" NOT NULL REFERENCES operations (id),
    name         TEXT COLLATE "C" NOT NULL,
    UNIQUE (operation_id, name)
);

CREATE TABLE members (
    user_id      TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    operation_id TEXT COLLATE "C" NOT NULL REFERENCES operations (id),
    team_id      TEXT COLLATE "C" REFERENCES teams (id),
    PRIMARY KEY (user_id, operation_id)
);

CREATE TABLE devices (
    id           TEXT COLLATE "C" PRIMARY KEY,
    user_id      TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    label        TEXT COLLATE "C" NOT NULL,
    token_hash   TEXT COLLATE "C" NOT NULL UNIQUE,
    enrolled_at  TEXT COLLATE "C" NOT NULL,
    revoked_at   TEXT COLLATE "C",
    last_seen_at TEXT COLLATE "C",
    replica_id   TEXT COLLATE "C",
    recovery_secret TEXT COLLATE "C",
    revoke_mode  TEXT COLLATE "C"
);

CREATE TABLE enrolment_codes (
    code_hash  TEXT COLLATE "C" PRIMARY KEY,
    user_id    TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    issued_by  TEXT COLLATE "C" NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL,
    expires_at TEXT COLLATE "C" NOT NULL,
    used_at    TEXT COLLATE "C",
    device_id  TEXT COLLATE "C"
);

CREATE TABLE sessions (
    token_hash TEXT COLLATE "C" PRIMARY KEY,
    user_id    TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    created_at TEXT COLLATE "C" NOT NULL,
    expires_at TEXT COLLATE "C" NOT NULL
);

CREATE TABLE ops (
    cursor       BIGSERIAL PRIMARY KEY,
    replica      TEXT COLLATE "C" NOT NULL,
    seq          BIGINT NOT NULL,
    visit_id     TEXT COLLATE "C" NOT NULL,
    operation_id TEXT COLLATE "C" NOT NULL,
    body         TEXT COLLATE "C" NOT NULL,
    device_id    TEXT COLLATE "C",
    received_at  TEXT COLLATE "C" NOT NULL,
    UNIQUE (replica, seq)
);
CREATE INDEX ops_by_visit ON ops (visit_id);
CREATE INDEX ops_by_operation ON ops (operation_id, cursor);

CREATE TABLE visits (
    id            TEXT COLLATE "C" PRIMARY KEY,
    operation_id  TEXT COLLATE "C" NOT NULL REFERENCES operations (id),
    status        TEXT COLLATE "C" NOT NULL,
    location_kind TEXT COLLATE "C",
    started_at    BIGINT,
    voided        BIGINT NOT NULL,
    conflicts     BIGINT NOT NULL,
    updated_at    TEXT COLLATE "C" NOT NULL,
    created_by    TEXT COLLATE "C",
    team_id       TEXT COLLATE "C",
    status_round  BIGINT NOT NULL DEFAULT 0,
    checks        TEXT COLLATE "C"
);
CREATE INDEX visits_by_operation ON visits (operation_id, started_at);
CREATE INDEX visits_by_team ON visits (team_id);

CREATE TABLE quarantine (
    id          BIGSERIAL PRIMARY KEY,
    device_id   TEXT COLLATE "C",
    replica     TEXT COLLATE "C",
    seq         BIGINT,
    body        TEXT COLLATE "C" NOT NULL,
    code        TEXT COLLATE "C" NOT NULL,
    message     TEXT COLLATE "C" NOT NULL,
    received_at TEXT COLLATE "C" NOT NULL
);

CREATE TABLE audit (
    seq       BIGINT PRIMARY KEY,
    at        TEXT COLLATE "C" NOT NULL,
    actor     TEXT COLLATE "C" NOT NULL,
    action    TEXT COLLATE "C" NOT NULL,
    subject   TEXT COLLATE "C" NOT NULL,
    reason    TEXT COLLATE "C" NOT NULL,
    detail    TEXT COLLATE "C" NOT NULL,
    prev_hash TEXT COLLATE "C" NOT NULL,
    hash      TEXT COLLATE "C" NOT NULL
);
CREATE INDEX audit_by_subject ON audit (subject, seq);
CREATE TABLE audit_head (
    id   BIGINT PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT COLLATE "C" NOT NULL
);

CREATE TABLE visit_exports (
    visit_id     TEXT PRIMARY KEY REFERENCES visits (id),
    operation_id TEXT COLLATE "C" NOT NULL REFERENCES operations (id),
    day          TEXT COLLATE "C",
    started_at   BIGINT,
    team_id      TEXT COLLATE "C",
    force_area   TEXT COLLATE "C" NOT NULL,
    person_rows  BIGINT NOT NULL,
    summary      TEXT COLLATE "C" NOT NULL,
    row_cells    TEXT COLLATE "C" NOT NULL,
    persons      TEXT COLLATE "C" NOT NULL
);
CREATE INDEX visit_exports_by_day ON visit_exports (operation_id, day, started_at, visit_id);
CREATE INDEX visit_exports_summary ON visit_exports (operation_id, day, team_id, force_area);

CREATE TABLE exports (
    id           TEXT COLLATE "C" PRIMARY KEY,
    operation_id TEXT COLLATE "C" NOT NULL REFERENCES operations (id),
    from_day     TEXT COLLATE "C" NOT NULL,
    to_day       TEXT COLLATE "C" NOT NULL,
    format       TEXT COLLATE "C" NOT NULL,
    content      TEXT COLLATE "C" NOT NULL,
    identifying  BIGINT NOT NULL,
    reason       TEXT COLLATE "C" NOT NULL,
    actor        TEXT COLLATE "C" NOT NULL,
    created_at   TEXT COLLATE "C" NOT NULL,
    status       TEXT COLLATE "C" NOT NULL CHECK (status IN ('running', 'completed', 'cancelled', 'failed')),
    completed    BIGINT NOT NULL DEFAULT 0,
    finished_at  TEXT COLLATE "C",
    rows         BIGINT,
    bytes        BIGINT,
    sha256       TEXT COLLATE "C"
);
CREATE INDEX exports_by_created ON exports (created_at);

CREATE TABLE visit_writers (
    visit_id TEXT COLLATE "C" NOT NULL,
    user_id  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (visit_id, user_id)
);
CREATE INDEX visit_writers_by_user ON visit_writers (user_id);

CREATE TABLE grants (
    cursor     BIGINT PRIMARY KEY,
    visit_id   TEXT COLLATE "C" NOT NULL REFERENCES visits (id),
    kind       TEXT COLLATE "C" NOT NULL CHECK (kind IN ('share', 'team')),
    user_id    TEXT COLLATE "C",
    team_id    TEXT COLLATE "C",
    granted_by TEXT COLLATE "C" NOT NULL,
    granted_at TEXT COLLATE "C" NOT NULL,
    CHECK ((user_id IS NULL) <> (team_id IS NULL))
);
CREATE INDEX grants_by_visit ON grants (visit_id);
CREATE INDEX grants_by_user ON grants (user_id, cursor);
CREATE INDEX grants_by_team ON grants (team_id, cursor);

CREATE TABLE visit_states (
    visit_id TEXT PRIMARY KEY REFERENCES visits (id),
    state    BYTEA NOT NULL,
    through  BIGINT NOT NULL
);
