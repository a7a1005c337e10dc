-- Rule modes set in the console (a shadow rule promoted to enforce after
-- its replay preview), applied over the rule files at every load.

-- +goose Up
CREATE TABLE rule_modes (
    rule   TEXT PRIMARY KEY,
    mode   TEXT NOT NULL,
    set_by TEXT NOT NULL,
    set_us BIGINT NOT NULL
);

-- +goose Down
DROP TABLE rule_modes;
