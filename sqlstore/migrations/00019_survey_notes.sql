-- Interview notes and regional messaging experiments (issue 14, CONTRACT
-- §9). A note is a paraphrased quote checked for personal data before it
-- is stored, tagged by themes of the controlled vocabulary (kept as the
-- names joined by ";"), region, trust segment and an optional experience
-- split, under the wave whose numbers it explains. An experiment is kept as
-- the JSON that was put; stored experiments replace the built-in ones of
-- the same id.

-- +goose Up
CREATE TABLE survey_notes (
    wave        TEXT NOT NULL REFERENCES survey_waves (name),
    ref         TEXT NOT NULL,
    region      TEXT NOT NULL,
    segment     TEXT NOT NULL,
    themes      TEXT NOT NULL,
    experience  TEXT NOT NULL,
    quote       TEXT NOT NULL,
    imported_us BIGINT NOT NULL,
    PRIMARY KEY (wave, ref)
);

CREATE TABLE message_experiments (
    id         TEXT PRIMARY KEY,
    body       TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_us BIGINT NOT NULL
);

-- +goose Down
DROP TABLE message_experiments;
DROP TABLE survey_notes;
