-- Campaign cases: one case for a coordinated crowd (lockstep, a
-- near-duplicate text wave, a linked-account group). Its members are the
-- engine reports filed on it, one per account; its keys are what a new
-- member must share to join it (hashed targets, text or link identifiers,
-- never the values themselves).

-- +goose Up
CREATE TABLE incident_campaign_keys (
    kind    TEXT NOT NULL,
    key     TEXT NOT NULL,
    case_id TEXT NOT NULL,
    PRIMARY KEY (kind, key, case_id)
);
CREATE INDEX incident_campaign_keys_case ON incident_campaign_keys (case_id);

-- +goose Down
DROP TABLE incident_campaign_keys;
