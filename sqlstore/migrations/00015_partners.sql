-- Partner sharing (CONTRACT §10): the partner platforms this server imports
-- indicator feeds from, each with the Ed25519 public key its feeds are
-- signed with (a public key: not a secret), and the list last imported from
-- each, packed (keyed hashes and expiries only; never a clear value).

-- +goose Up
CREATE TABLE partners (
    name       TEXT PRIMARY KEY,
    public_key TEXT NOT NULL,
    created_us BIGINT NOT NULL
);

CREATE TABLE partner_lists (
    partner     TEXT PRIMARY KEY REFERENCES partners (name),
    trust       TEXT NOT NULL,
    indicators  {{BLOB}} NOT NULL,
    imported_us BIGINT NOT NULL
);

-- The restricted accounts a feed is built from are found by decision.
CREATE INDEX incident_decisions_action ON incident_decisions (subject_kind, action, reversed_us);

-- +goose Down
DROP INDEX incident_decisions_action;
DROP TABLE partner_lists;
DROP TABLE partners;
