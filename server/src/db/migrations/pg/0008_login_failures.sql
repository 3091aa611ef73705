-- Version 8, as SQLite's 0008: failed logins counted in the database.
CREATE TABLE login_failures (
    key          TEXT COLLATE "C" PRIMARY KEY,
    window_start BIGINT NOT NULL,
    count        BIGINT NOT NULL
);
