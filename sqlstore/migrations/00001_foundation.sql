-- Migrations are written once for SQLite and PostgreSQL. Where the two differ,
-- a macro in double braces stands in and sqlstore replaces it per dialect (see dialect.go).
-- Times are BIGINT microseconds since the Unix epoch, UTC.

-- +goose Up
CREATE TABLE events (
    seq         {{SERIAL_PK}},
    id          TEXT NOT NULL UNIQUE,
    type        TEXT NOT NULL,
    actor       TEXT NOT NULL,
    target      TEXT NOT NULL DEFAULT '',
    time_us     BIGINT NOT NULL,
    received_us BIGINT NOT NULL,
    body        TEXT NOT NULL,
    verdict     TEXT NOT NULL
);
CREATE INDEX events_actor_time ON events (actor, time_us);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    created_us   BIGINT NOT NULL,
    revoked_us   BIGINT
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    totp_secret   TEXT NOT NULL DEFAULT '',
    created_us    BIGINT NOT NULL,
    disabled_us   BIGINT
);

CREATE TABLE sessions (
    hash        TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id),
    csrf        TEXT NOT NULL,
    created_us  BIGINT NOT NULL,
    expires_us  BIGINT NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_us);

-- +goose Down
DROP TABLE sessions;
DROP TABLE users;
DROP TABLE api_keys;
DROP TABLE events;
