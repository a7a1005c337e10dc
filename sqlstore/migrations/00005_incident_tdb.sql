-- The send ledger of statements of reasons submitted to the EU Transparency
-- Database: a puid is sent once, and never reused.

-- +goose Up
CREATE TABLE incident_tdb (
    puid         TEXT PRIMARY KEY,
    submitted_us BIGINT NOT NULL,
    existing     BOOLEAN NOT NULL DEFAULT FALSE
);

-- +goose Down
DROP TABLE incident_tdb;
