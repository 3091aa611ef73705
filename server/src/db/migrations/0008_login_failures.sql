-- Aidant server schema, version 8: failed logins counted in the database,
-- so that every server instance on one database sees the same counts (an
-- account guessed at through one instance is throttled at all of them).
-- `key` is `login-fail:USERNAME:ADDRESS` or `login-account:USERNAME`;
-- `window_start` is Unix milliseconds.
CREATE TABLE login_failures (
    key          TEXT PRIMARY KEY,
    window_start INTEGER NOT NULL,
    count        INTEGER NOT NULL
);
