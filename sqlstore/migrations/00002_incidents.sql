-- Trust incidents: reports, cases, decisions, appeals, the user inbox, the
-- delivery outbox, entity labels and the case audit log. Times are BIGINT
-- microseconds since the Unix epoch; 0 means "not yet".

-- +goose Up
-- subjects holds one row per reported entity. Locking it serialises every
-- change to that entity's cases, which is what keeps one open case per
-- subject on PostgreSQL (SQLite has a single writer anyway).
CREATE TABLE incident_subjects (
    subject_kind TEXT NOT NULL,
    subject_id   TEXT NOT NULL,
    open_case    TEXT NOT NULL DEFAULT '',
    decision_id  TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (subject_kind, subject_id)
);

CREATE TABLE incident_cases (
    id           TEXT PRIMARY KEY,
    subject_kind TEXT NOT NULL,
    subject_id   TEXT NOT NULL,
    owner        TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL,
    queue        TEXT NOT NULL,
    category     TEXT NOT NULL,
    priority     INTEGER NOT NULL,
    trusted      BOOLEAN NOT NULL DEFAULT FALSE,
    automated    BOOLEAN NOT NULL DEFAULT FALSE,
    reports      INTEGER NOT NULL DEFAULT 0,
    reach        INTEGER NOT NULL DEFAULT 0,
    detections   INTEGER NOT NULL DEFAULT 0,
    opened_us    BIGINT NOT NULL,
    due_us       BIGINT NOT NULL,
    assignee     TEXT NOT NULL DEFAULT '',
    assigned_us  BIGINT NOT NULL DEFAULT 0,
    closed_us    BIGINT NOT NULL DEFAULT 0,
    decision_id  TEXT NOT NULL DEFAULT ''
);
-- The queue view: open cases, most urgent first, per queue or overall.
CREATE INDEX incident_cases_queue ON incident_cases (queue, priority DESC, due_us) WHERE closed_us = 0;
CREATE INDEX incident_cases_urgent ON incident_cases (priority DESC, due_us) WHERE closed_us = 0;
CREATE INDEX incident_cases_due ON incident_cases (due_us) WHERE closed_us = 0;
CREATE INDEX incident_cases_subject ON incident_cases (subject_kind, subject_id, opened_us);

CREATE TABLE incident_reports (
    id           TEXT PRIMARY KEY,
    case_id      TEXT NOT NULL,
    reporter     TEXT NOT NULL,
    source       TEXT NOT NULL,
    flagger      TEXT NOT NULL DEFAULT '',
    subject_kind TEXT NOT NULL,
    subject_id   TEXT NOT NULL,
    category     TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    evidence     TEXT NOT NULL DEFAULT '[]',
    status       TEXT NOT NULL,
    received_us  BIGINT NOT NULL,
    decided_us   BIGINT NOT NULL DEFAULT 0,
    decision_id  TEXT NOT NULL DEFAULT '',
    idem_key     TEXT UNIQUE
);
CREATE INDEX incident_reports_case ON incident_reports (case_id);
CREATE INDEX incident_reports_reporter ON incident_reports (reporter, subject_kind, subject_id, received_us);
CREATE INDEX incident_reports_received ON incident_reports (received_us);

CREATE TABLE incident_decisions (
    id           TEXT PRIMARY KEY,
    case_id      TEXT NOT NULL,
    subject_kind TEXT NOT NULL,
    subject_id   TEXT NOT NULL,
    owner        TEXT NOT NULL DEFAULT '',
    action       TEXT NOT NULL,
    category     TEXT NOT NULL,
    policy       TEXT NOT NULL,
    explanation  TEXT NOT NULL,
    note         TEXT NOT NULL DEFAULT '',
    source       TEXT NOT NULL,
    automated    BOOLEAN NOT NULL DEFAULT FALSE,
    detected     BOOLEAN NOT NULL DEFAULT FALSE,
    decided_by   TEXT NOT NULL,
    decided_us   BIGINT NOT NULL,
    ends_us      BIGINT NOT NULL DEFAULT 0,
    reversed_us  BIGINT NOT NULL DEFAULT 0,
    sor          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX incident_decisions_decided ON incident_decisions (decided_us);
CREATE INDEX incident_decisions_subject ON incident_decisions (subject_kind, subject_id, decided_us);

CREATE TABLE incident_appeals (
    id           TEXT PRIMARY KEY,
    decision_id  TEXT NOT NULL,
    case_id      TEXT NOT NULL,
    report_id    TEXT NOT NULL DEFAULT '',
    appellant    TEXT NOT NULL,
    kind         TEXT NOT NULL,
    reason       TEXT NOT NULL,
    status       TEXT NOT NULL,
    filed_us     BIGINT NOT NULL,
    decided_us   BIGINT NOT NULL DEFAULT 0,
    decided_by   TEXT NOT NULL DEFAULT '',
    explanation  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX incident_appeals_decision ON incident_appeals (decision_id);
CREATE INDEX incident_appeals_pending ON incident_appeals (status, filed_us);

-- The inbox. dedupe, when set, makes a notice once-only per user (exposure
-- notices: one per user per removed account).
CREATE TABLE incident_notifications (
    seq          {{SERIAL_PK}},
    id           TEXT NOT NULL UNIQUE,
    user_id      TEXT NOT NULL,
    kind         TEXT NOT NULL,
    report_id    TEXT NOT NULL DEFAULT '',
    case_id      TEXT NOT NULL DEFAULT '',
    decision_id  TEXT NOT NULL DEFAULT '',
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    data         TEXT NOT NULL DEFAULT '',
    created_us   BIGINT NOT NULL,
    dedupe       TEXT
);
CREATE INDEX incident_notifications_user ON incident_notifications (user_id, seq);
CREATE INDEX incident_notifications_report ON incident_notifications (report_id, seq);
CREATE UNIQUE INDEX incident_notifications_dedupe ON incident_notifications (user_id, dedupe);

-- The delivery outbox: written in the same transaction as the notification,
-- so a committed notice is always delivered or dead-lettered.
CREATE TABLE incident_deliveries (
    seq          {{SERIAL_PK}},
    notification TEXT NOT NULL,
    channel      TEXT NOT NULL,
    target       TEXT NOT NULL,
    payload      TEXT NOT NULL,
    status       TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_us      BIGINT NOT NULL,
    last_error   TEXT NOT NULL DEFAULT '',
    created_us   BIGINT NOT NULL,
    done_us      BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX incident_deliveries_due ON incident_deliveries (status, next_us);

-- Contact addresses a reporter gave with a notice (DSA Art. 16(2)(c)), for
-- e-mail delivery when SMTP is configured.
CREATE TABLE incident_contacts (
    user_id    TEXT PRIMARY KEY,
    email      TEXT NOT NULL,
    updated_us BIGINT NOT NULL
);

CREATE TABLE incident_labels (
    entity      TEXT NOT NULL,
    label       TEXT NOT NULL,
    decision_id TEXT NOT NULL,
    created_us  BIGINT NOT NULL,
    expires_us  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (entity, label)
);
CREATE INDEX incident_labels_decision ON incident_labels (decision_id);

CREATE TABLE incident_case_events (
    seq      {{SERIAL_PK}},
    case_id  TEXT NOT NULL,
    actor    TEXT NOT NULL,
    kind     TEXT NOT NULL,
    detail   TEXT NOT NULL DEFAULT '',
    at_us    BIGINT NOT NULL
);
CREATE INDEX incident_case_events_case ON incident_case_events (case_id, seq);

-- +goose Down
DROP TABLE incident_case_events;
DROP TABLE incident_labels;
DROP TABLE incident_contacts;
DROP TABLE incident_deliveries;
DROP TABLE incident_notifications;
DROP TABLE incident_appeals;
DROP TABLE incident_decisions;
DROP TABLE incident_reports;
DROP TABLE incident_cases;
DROP TABLE incident_subjects;
