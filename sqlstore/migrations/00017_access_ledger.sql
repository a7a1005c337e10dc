-- The data-access ledger (who inside the platform read a user's data and
-- why), its policy flags and signed checkpoints, and data requests (GDPR
-- access and erasure) on the Art. 12(3) clock.

-- +goose Up
-- One row per access, append-only. Each user's entries form a hash chain
-- keyed by subject, a salted hash of the user id (access_subjects holds the
-- salt): hash = SHA-256(prev_hash || canonical entry), and the canonical
-- entry names the subject, not the user. Erasure deletes the salt and blanks
-- user_id: the chain still verifies, and nothing links it to the person.
CREATE TABLE access_ledger (
    seq          {{SERIAL_PK}},
    id           TEXT NOT NULL UNIQUE,
    subject      TEXT NOT NULL,
    chain_seq    BIGINT NOT NULL,
    user_id      TEXT NOT NULL,
    actor_class  TEXT NOT NULL,
    actor_id     TEXT NOT NULL,
    actor_region TEXT NOT NULL DEFAULT '',
    user_region  TEXT NOT NULL DEFAULT '',
    purpose      TEXT NOT NULL,
    ticket       TEXT NOT NULL DEFAULT '',
    categories   TEXT NOT NULL DEFAULT '',
    time_us      BIGINT NOT NULL,
    recorded_us  BIGINT NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL,
    UNIQUE (subject, chain_seq)
);
-- No index on user_id: a user's entries are found through their subject
-- (one random-order index fewer for every append to update).
CREATE INDEX access_ledger_time ON access_ledger (time_us);

CREATE TABLE access_subjects (
    user_id TEXT PRIMARY KEY,
    salt    TEXT NOT NULL,
    subject TEXT NOT NULL UNIQUE
);

-- Signed checkpoints: every chain's head at a point of the ledger, as a
-- compact JWS (ES256) whose payload carries the Merkle-free root (SHA-256
-- over the sorted heads) and the last seq it covers.
CREATE TABLE access_checkpoints (
    seq      {{SERIAL_PK}},
    last_seq BIGINT NOT NULL,
    entries  BIGINT NOT NULL,
    chains   BIGINT NOT NULL,
    root     TEXT NOT NULL,
    key_id   TEXT NOT NULL,
    jws      TEXT NOT NULL,
    at_us    BIGINT NOT NULL
);

CREATE TABLE access_flags (
    id          TEXT PRIMARY KEY,
    entry_id    TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    actor_class TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    kind        TEXT NOT NULL,
    detail      TEXT NOT NULL,
    raised_us   BIGINT NOT NULL,
    resolved_us BIGINT NOT NULL DEFAULT 0,
    resolved_by TEXT NOT NULL DEFAULT '',
    note        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX access_flags_open ON access_flags (resolved_us, raised_us);
CREATE INDEX access_flags_user ON access_flags (user_id);

CREATE TABLE data_requests (
    id               TEXT PRIMARY KEY,
    user_id          TEXT NOT NULL,
    kind             TEXT NOT NULL,   -- access | erasure
    status           TEXT NOT NULL,   -- received | extended | done
    received_us      BIGINT NOT NULL,
    due_us           BIGINT NOT NULL,
    extended_us      BIGINT NOT NULL DEFAULT 0,
    extension_reason TEXT NOT NULL DEFAULT '',
    done_us          BIGINT NOT NULL DEFAULT 0,
    done_by          TEXT NOT NULL DEFAULT '',
    result           TEXT NOT NULL DEFAULT '',
    reminded_us      BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX data_requests_due ON data_requests (status, due_us);
CREATE INDEX data_requests_user ON data_requests (user_id, received_us);

-- +goose Down
DROP TABLE data_requests;
DROP TABLE access_flags;
DROP TABLE access_checkpoints;
DROP TABLE access_subjects;
DROP TABLE access_ledger;
