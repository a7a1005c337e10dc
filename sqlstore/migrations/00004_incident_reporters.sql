-- Reporters under the DSA Art. 23 procedure: a warning first, then a
-- suspension of notice processing for a period.

-- +goose Up
CREATE TABLE incident_reporters (
    reporter           TEXT PRIMARY KEY,
    warned_us          BIGINT NOT NULL DEFAULT 0,
    suspended_us       BIGINT NOT NULL DEFAULT 0,
    suspended_until_us BIGINT NOT NULL DEFAULT 0,
    suspensions        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX incident_reporters_suspended ON incident_reporters (suspended_us) WHERE suspended_us <> 0;

-- +goose Down
DROP TABLE incident_reporters;
