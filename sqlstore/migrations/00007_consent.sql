-- Policy documents (terms, privacy policy, community guidelines) in
-- versions per kind and region, and every user's consent decision on them
-- with its signed receipt (CONTRACT §7).

-- +goose Up
CREATE TABLE policy_documents (
    seq              {{SERIAL_PK}},
    id               TEXT NOT NULL UNIQUE,
    kind             TEXT NOT NULL,
    region           TEXT NOT NULL,
    version          TEXT NOT NULL,
    body             TEXT NOT NULL,
    body_sha256      TEXT NOT NULL,
    declares         TEXT NOT NULL,
    material         BOOLEAN NOT NULL,
    material_reasons TEXT NOT NULL DEFAULT '[]',
    what_changed     TEXT NOT NULL DEFAULT '[]',
    diff             TEXT NOT NULL DEFAULT '',
    created_by       TEXT NOT NULL DEFAULT '',
    created_us       BIGINT NOT NULL,
    UNIQUE (kind, region, version)
);
CREATE INDEX policy_documents_series ON policy_documents (kind, region, seq);

CREATE TABLE consent_decisions (
    seq               {{SERIAL_PK}},
    receipt_id        TEXT NOT NULL UNIQUE,
    user_id           TEXT NOT NULL,
    document_id       TEXT NOT NULL REFERENCES policy_documents (id),
    document_seq      BIGINT NOT NULL,
    kind              TEXT NOT NULL,
    region            TEXT NOT NULL,
    version           TEXT NOT NULL,
    body_sha256       TEXT NOT NULL,
    decision          TEXT NOT NULL,
    collection_method TEXT NOT NULL,
    key_id            TEXT NOT NULL,
    receipt           TEXT NOT NULL,
    at_us             BIGINT NOT NULL
);
CREATE INDEX consent_decisions_user ON consent_decisions (user_id, seq);

-- +goose Down
DROP TABLE consent_decisions;
DROP TABLE policy_documents;
