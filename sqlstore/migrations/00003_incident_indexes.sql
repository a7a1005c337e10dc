-- Indexes for the incident queries that grow with history: a reporter's
-- recent reports (dedupe and track record, bounded by time rather than by
-- the reporter's whole history), closed cases newest first, and a case's
-- appeals.

-- +goose Up
DROP INDEX incident_reports_reporter;
CREATE INDEX incident_reports_reporter ON incident_reports (reporter, received_us);
CREATE INDEX incident_cases_closed ON incident_cases (closed_us) WHERE closed_us <> 0;
CREATE INDEX incident_appeals_case ON incident_appeals (case_id, filed_us);

-- +goose Down
DROP INDEX incident_appeals_case;
DROP INDEX incident_cases_closed;
DROP INDEX incident_reports_reporter;
CREATE INDEX incident_reports_reporter ON incident_reports (reporter, subject_kind, subject_id, received_us);
