-- Sensitive-permission ledger (issue 13, CONTRACT §8). A manifest per app
-- version declares which feature may use which permission with which
-- trigger (kept as the JSON that was put, and one row per declared use).
-- Records are the client's reports of sensitive reads, never content; the
-- user is kept only as a pseudonym (the first 128 bits of the HMAC-SHA256
-- of their id under DATA/keys/clientperm.key, as 16 bytes), never the id.
-- perm is the permission's code (1 clipboard.read, 2 contacts.read,
-- 3 location, 4 camera, 5 microphone, 6 photos; short rows insert faster),
-- gesture whether a user gesture triggered the reads (trigger user_gesture,
-- else programmatic), declared whether the app version's manifest declared
-- the use when the record arrived; day is the UTC day of time_us.

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
    user_hash    {{BLOB}} NOT NULL,
    app_version  TEXT NOT NULL,
    perm         SMALLINT NOT NULL,
    feature      TEXT NOT NULL,
    gesture      BOOLEAN NOT NULL,
    foreground   BOOLEAN NOT NULL,
    reads        INTEGER NOT NULL CHECK (reads >= 1),
    time_us      BIGINT NOT NULL,
    received_us  BIGINT NOT NULL,
    declared     BOOLEAN NOT NULL,
    day          INTEGER NOT NULL
);
CREATE INDEX client_permission_records_version ON client_permission_records (app_version, time_us);
-- A user's records are found by day (time_us / 86400000000) and pseudonym:
-- a batch's random pseudonyms land in today's part of the index only, not
-- all over an index of every user's history.
CREATE INDEX client_permission_records_user ON client_permission_records (day, user_hash);

-- The app versions records came for, with when the last batch arrived:
-- the console lists them without scanning the records.
CREATE TABLE client_app_versions (
    app_version TEXT PRIMARY KEY,
    last_us     BIGINT NOT NULL
);

-- +goose Down
DROP TABLE client_app_versions;
DROP INDEX client_permission_records_user;
DROP INDEX client_permission_records_version;
DROP TABLE client_permission_records;
DROP TABLE client_manifest_uses;
DROP TABLE client_manifests;
