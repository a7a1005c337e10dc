-- The delivery outbox becomes shared by every feature (package notify) and
-- safe to drain from several processes: a worker claims due rows with a
-- lease (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite has one writer), and
-- settles only rows it still holds. kind says what a row carries (a user
-- notification, or a machine event such as decision.created); ref is the
-- notification or decision it belongs to.

-- +goose Up
ALTER TABLE incident_deliveries ADD COLUMN kind TEXT NOT NULL DEFAULT 'notification';
ALTER TABLE incident_deliveries ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE incident_deliveries ADD COLUMN lease_us BIGINT NOT NULL DEFAULT 0;
CREATE INDEX incident_deliveries_ref ON incident_deliveries (notification, kind);

-- +goose Down
DROP INDEX incident_deliveries_ref;
ALTER TABLE incident_deliveries DROP COLUMN lease_us;
ALTER TABLE incident_deliveries DROP COLUMN lease_owner;
ALTER TABLE incident_deliveries DROP COLUMN kind;
