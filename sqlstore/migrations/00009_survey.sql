-- Trust benchmark survey waves (CONTRACT §9): a wave's codebook (JSON) and
-- its respondents. A respondent's platform id is kept only as the hex
-- HMAC-SHA256 under the survey salt, which lives in a key file of the data
-- directory and never in these tables; answers are the codebook's items
-- and categorical columns, nothing else.

-- +goose Up
CREATE TABLE survey_waves (
    name        TEXT PRIMARY KEY,
    codebook    TEXT NOT NULL,
    respondents INTEGER NOT NULL,
    imported_us BIGINT NOT NULL
);

CREATE TABLE survey_respondents (
    wave          TEXT NOT NULL REFERENCES survey_waves (name),
    row_no        INTEGER NOT NULL,
    region        TEXT NOT NULL,
    platform_hash TEXT,
    weight        DOUBLE PRECISION NOT NULL,
    answers       TEXT NOT NULL,
    PRIMARY KEY (wave, row_no)
);
CREATE INDEX survey_respondents_hash ON survey_respondents (platform_hash);

-- +goose Down
DROP INDEX survey_respondents_hash;
DROP TABLE survey_respondents;
DROP TABLE survey_waves;
