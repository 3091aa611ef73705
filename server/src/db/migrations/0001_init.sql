-- Aidant server schema, version 1.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('officer', 'supervisor', 'admin')),
    password_hash TEXT,
    created_at    TEXT NOT NULL
);

CREATE TABLE operations (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    force_area TEXT NOT NULL,
    starts_on  TEXT NOT NULL,
    ends_on    TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE teams (
    id           TEXT PRIMARY KEY,
    operation_id TEXT NOT NULL REFERENCES operations (id),
    name         TEXT NOT NULL,
    UNIQUE (operation_id, name)
);

CREATE TABLE members (
    user_id      TEXT NOT NULL REFERENCES users (id),
    operation_id TEXT NOT NULL REFERENCES operations (id),
    team_id      TEXT REFERENCES teams (id),
    PRIMARY KEY (user_id, operation_id)
);

CREATE TABLE devices (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id),
    label        TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    enrolled_at  TEXT NOT NULL,
    revoked_at   TEXT,
    last_seen_at TEXT
);

CREATE TABLE enrolment_codes (
    code_hash  TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    issued_by  TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT,
    device_id  TEXT
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

-- Every accepted op, once. `cursor` orders pulls.
CREATE TABLE ops (
    cursor       INTEGER PRIMARY KEY AUTOINCREMENT,
    replica      TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    visit_id     TEXT NOT NULL,
    operation_id TEXT NOT NULL,
    body         TEXT NOT NULL,
    device_id    TEXT,
    received_at  TEXT NOT NULL,
    UNIQUE (replica, seq)
);
CREATE INDEX ops_by_visit ON ops (visit_id);
CREATE INDEX ops_by_operation ON ops (operation_id, cursor);

-- Derived index of merged visits (rebuilt from ops on every change).
CREATE TABLE visits (
    id            TEXT PRIMARY KEY,
    operation_id  TEXT NOT NULL REFERENCES operations (id),
    status        TEXT NOT NULL,
    location_kind TEXT,
    started_at    INTEGER,
    voided        INTEGER NOT NULL,
    conflicts     INTEGER NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX visits_by_operation ON visits (operation_id, started_at);

-- Ops that were rejected, kept for an admin to see.
CREATE TABLE quarantine (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id   TEXT,
    replica     TEXT,
    seq         INTEGER,
    body        TEXT NOT NULL,
    code        TEXT NOT NULL,
    message     TEXT NOT NULL,
    received_at TEXT NOT NULL
);

-- Append-only audit trail; each row commits to the previous row's hash.
CREATE TABLE audit (
    seq       INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    subject   TEXT NOT NULL,
    reason    TEXT NOT NULL,
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
);
