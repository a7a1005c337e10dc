-- Sensitive-permission ledger (issue 13, CONTRACT §8). A manifest per app
-- version declares which feature may use which permission with which
-- trigger (kept as the JSON that was put, and one row per declared use).
-- Records are the client's reports of sensitive reads, never content; the
-- user is kept only as the hex HMAC-SHA256 of their id under a key of the
-- data directory (DATA/keys/clientperm.key), never in these tables.
-- declared says whether the app version's manifest declared the use when
-- the record arrived.

-- +goose Up
CREATE TABLE client_manifests (
    app_version TEXT PRIMARY KEY,
    body        TEXT NOT NULL,
    updated_by  TEXT NOT NULL,
    updated_us  BIGINT NOT NULL
);

CREATE TABLE client_manifest_uses (
    app_version  TEXT NOT NULL REFERENCES client_manifests (app_version) ON DELETE CASCADE,
    feature      TEXT NOT NULL,
    permission   TEXT NOT NULL,
    trigger_kind TEXT NOT NULL,
    PRIMARY KEY (app_version, feature, permission)
);

CREATE TABLE client_permission_records (
    id           {{SERIAL_PK}},
    user_hash    TEXT NOT NULL,
    app_version  TEXT NOT NULL,
    permission   TEXT NOT NULL,
    feature      TEXT NOT NULL,
    trigger_kind TEXT NOT NULL,
    foreground   BOOLEAN NOT NULL,
    reads        INTEGER NOT NULL CHECK (reads >= 1),
    time_us      BIGINT NOT NULL,
    received_us  BIGINT NOT NULL,
    declared     BOOLEAN NOT NULL
);
CREATE INDEX client_permission_records_version ON client_permission_records (app_version, time_us);
CREATE INDEX client_permission_records_user ON client_permission_records (user_hash, time_us);

-- +goose Down
DROP INDEX client_permission_records_user;
DROP INDEX client_permission_records_version;
DROP TABLE client_permission_records;
DROP TABLE client_manifest_uses;
DROP TABLE client_manifests;
