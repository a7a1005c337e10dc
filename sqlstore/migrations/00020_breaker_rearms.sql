-- Re-arms of rules' circuit breakers (package enforce's safety valves):
-- an admin's act, kept so that a replay of the event log applies it at the
-- same point. at_us is the event time it applies from (just past the
-- newest event the engine had seen); rearmed_us the wall-clock time.

-- +goose Up
CREATE TABLE rule_breaker_rearms (
    id         {{SERIAL_PK}},
    rule       TEXT NOT NULL,
    at_us      BIGINT NOT NULL,
    rearmed_by TEXT NOT NULL,
    rearmed_us BIGINT NOT NULL
);

-- +goose Down
DROP TABLE rule_breaker_rearms;
