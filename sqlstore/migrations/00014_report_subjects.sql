-- Search by subject: the cases whose reports (a campaign's members among
-- them) are about an account or a piece of content, the cases about content
-- an account posted, and closed-case history per queue.

-- +goose Up
CREATE INDEX incident_reports_subject ON incident_reports (subject_id);
CREATE INDEX incident_cases_subject_id ON incident_cases (subject_id);
CREATE INDEX incident_cases_owner ON incident_cases (owner) WHERE owner <> '';
CREATE INDEX incident_cases_queue_closed ON incident_cases (queue, closed_us) WHERE closed_us <> 0;

-- +goose Down
DROP INDEX incident_cases_queue_closed;
DROP INDEX incident_cases_owner;
DROP INDEX incident_cases_subject_id;
DROP INDEX incident_reports_subject;
