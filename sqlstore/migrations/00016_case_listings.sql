-- Closed-case history in keyset pages: latest closed first, ties broken by
-- id, overall and per queue, read from the index in order instead of
-- sorting every closed case; and the counts. These replace the closed-time indexes of
-- 00003 and 00014, which they cover.

-- +goose Up
DROP INDEX incident_cases_queue_closed;
DROP INDEX incident_cases_closed;
CREATE INDEX incident_cases_closed ON incident_cases (closed_us DESC, id) WHERE closed_us <> 0;
CREATE INDEX incident_cases_queue_closed ON incident_cases (queue, closed_us DESC, id) WHERE closed_us <> 0;
-- the console's counts of waiting cases per queue and status, index only
CREATE INDEX incident_cases_open_status ON incident_cases (queue, status) WHERE closed_us = 0;

-- +goose Down
DROP INDEX incident_cases_open_status;
DROP INDEX incident_cases_queue_closed;
DROP INDEX incident_cases_closed;
CREATE INDEX incident_cases_closed ON incident_cases (closed_us) WHERE closed_us <> 0;
CREATE INDEX incident_cases_queue_closed ON incident_cases (queue, closed_us) WHERE closed_us <> 0;
