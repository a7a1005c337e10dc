package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/wardenhq/warden"
)

// IncidentTx is one transaction over the incident tables. Every change to a
// subject's cases runs inside one, after LockSubject, so that concurrent
// reports on the same subject see each other.
type IncidentTx struct {
	tx      *stmtTx
	dialect string
}

// stmtTx is a transaction that prepares each distinct statement once and
// reuses it: an intake batch runs the same dozen statements for every
// report, and on SQLite parsing them again each time was a fifth of the
// cost. (pgx caches prepared statements per connection by itself.)
type stmtTx struct {
	*sqlx.Tx
	stmts map[string]*sqlx.Stmt // nil: no caching
}

func (t *stmtTx) stmt(ctx context.Context, q string) (*sqlx.Stmt, error) {
	if st, ok := t.stmts[q]; ok {
		return st, nil
	}
	st, err := t.Tx.PreparexContext(ctx, q)
	if err == nil {
		t.stmts[q] = st
	}
	return st, err
}

func (t *stmtTx) GetContext(ctx context.Context, dest any, q string, args ...any) error {
	if t.stmts == nil {
		return t.Tx.GetContext(ctx, dest, q, args...)
	}
	st, err := t.stmt(ctx, q)
	if err != nil {
		return err
	}
	return st.GetContext(ctx, dest, args...)
}

func (t *stmtTx) SelectContext(ctx context.Context, dest any, q string, args ...any) error {
	if t.stmts == nil {
		return t.Tx.SelectContext(ctx, dest, q, args...)
	}
	st, err := t.stmt(ctx, q)
	if err != nil {
		return err
	}
	return st.SelectContext(ctx, dest, args...)
}

func (t *stmtTx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if t.stmts == nil {
		return t.Tx.ExecContext(ctx, q, args...)
	}
	st, err := t.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (t *stmtTx) NamedExecContext(ctx context.Context, q string, arg any) (sql.Result, error) {
	if t.stmts == nil {
		return t.Tx.NamedExecContext(ctx, q, arg)
	}
	bound, args, err := sqlx.Named(q, arg)
	if err != nil {
		return nil, err
	}
	return t.ExecContext(ctx, sqlx.Rebind(sqlx.DOLLAR, bound), args...)
}

// Incidents runs fn in a transaction and commits it when fn returns nil. On
// PostgreSQL a serialisation failure or deadlock is retried a few times.
func (db *DB) Incidents(ctx context.Context, fn func(tx *IncidentTx) error) error {
	for attempt := 0; ; attempt++ {
		err := db.incidentsOnce(ctx, fn)
		if err == nil || attempt >= 4 || !retryable(err) {
			return err
		}
		time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
	}
}

func (db *DB) incidentsOnce(ctx context.Context, fn func(tx *IncidentTx) error) error {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	st := &stmtTx{Tx: tx}
	if db.Dialect == SQLite {
		st.stmts = map[string]*sqlx.Stmt{}
	}
	if err := fn(&IncidentTx{tx: st, dialect: db.Dialect}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// retryable reports PostgreSQL serialisation failures, deadlocks and unique
// violations (two first reports racing to open a case).
func retryable(err error) bool {
	var we *warden.Error
	if errors.As(err, &we) {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "40001") || strings.Contains(s, "40P01") || strings.Contains(s, "23505")
}

// SubjectState is what the store knows about one reported entity.
type SubjectState struct {
	OpenCase   string `db:"open_case"`
	DecisionID string `db:"decision_id"`
}

// LockSubject creates the subject's row if needed and locks it until the
// transaction ends: the upsert takes the row lock on PostgreSQL, and SQLite
// has one writer anyway.
func (t *IncidentTx) LockSubject(ctx context.Context, kind, id string) (SubjectState, error) {
	var s SubjectState
	err := t.tx.GetContext(ctx, &s, `INSERT INTO incident_subjects (subject_kind, subject_id) VALUES ($1, $2)
		ON CONFLICT (subject_kind, subject_id) DO UPDATE SET open_case = incident_subjects.open_case
		RETURNING open_case, decision_id`, kind, id)
	if err != nil {
		return s, fmt.Errorf("lock subject: %w", err)
	}
	return s, nil
}

// SetSubject records the subject's open case and standing decision.
func (t *IncidentTx) SetSubject(ctx context.Context, kind, id string, s SubjectState) error {
	_, err := t.tx.ExecContext(ctx, `UPDATE incident_subjects SET open_case = $1, decision_id = $2 WHERE subject_kind = $3 AND subject_id = $4`,
		s.OpenCase, s.DecisionID, kind, id)
	return err
}

const reportCols = "id, case_id, reporter, source, flagger, subject_kind, subject_id, category, description, evidence, status, received_us, decided_us, decision_id, idem_key"

// ReportByIdemKey returns the report filed earlier with the same idempotency
// key, or nil.
func (t *IncidentTx) ReportByIdemKey(ctx context.Context, key string) (*warden.Report, error) {
	return getOne[warden.Report](ctx, t.tx, "SELECT "+reportCols+" FROM incident_reports WHERE idem_key = $1", key)
}

// RecentReport returns the reporter's latest report on the subject in the
// category received at or after since, or nil.
func (t *IncidentTx) RecentReport(ctx context.Context, reporter, kind, id, category string, since warden.Micros) (*warden.Report, error) {
	return getOne[warden.Report](ctx, t.tx, "SELECT "+reportCols+` FROM incident_reports
		WHERE reporter = $1 AND received_us >= $5 AND subject_kind = $2 AND subject_id = $3 AND category = $4
		ORDER BY received_us DESC LIMIT 1`, reporter, kind, id, category, since)
}

// InsertReport stores a new report.
func (t *IncidentTx) InsertReport(ctx context.Context, r *warden.Report) error {
	_, err := t.tx.NamedExecContext(ctx, `INSERT INTO incident_reports (`+reportCols+`) VALUES
		(:id, :case_id, :reporter, :source, :flagger, :subject_kind, :subject_id, :category, :description, :evidence, :status, :received_us, :decided_us, :decision_id, :idem_key)`, r)
	return err
}

// CaseReports returns the reports on a case, oldest first.
func (t *IncidentTx) CaseReports(ctx context.Context, caseID string) ([]warden.Report, error) {
	var out []warden.Report
	err := t.tx.SelectContext(ctx, &out, "SELECT "+reportCols+" FROM incident_reports WHERE case_id = $1 ORDER BY received_us, id", caseID)
	return out, err
}

// ReportByID returns one report, or nil.
func (t *IncidentTx) ReportByID(ctx context.Context, id string) (*warden.Report, error) {
	return getOne[warden.Report](ctx, t.tx, "SELECT "+reportCols+" FROM incident_reports WHERE id = $1", id)
}

// SetReportsStatus moves every report of a case that is not yet decided to
// status (with the decision, once decided).
func (t *IncidentTx) SetReportsStatus(ctx context.Context, caseID, status, decisionID string, at warden.Micros) error {
	decided := warden.Micros(0)
	if status == warden.ReportDecided {
		decided = at
	}
	_, err := t.tx.ExecContext(ctx, `UPDATE incident_reports SET status = $1, decision_id = $2, decided_us = $3 WHERE case_id = $4 AND status <> $5`,
		status, decisionID, decided, caseID, warden.ReportDecided)
	return err
}

const caseCols = "id, subject_kind, subject_id, owner, status, queue, category, priority, trusted, automated, reports, reach, detections, opened_us, due_us, assignee, assigned_us, closed_us, decision_id"

// InsertCase stores a new case.
func (t *IncidentTx) InsertCase(ctx context.Context, c *warden.Case) error {
	_, err := t.tx.NamedExecContext(ctx, `INSERT INTO incident_cases (`+caseCols+`) VALUES
		(:id, :subject_kind, :subject_id, :owner, :status, :queue, :category, :priority, :trusted, :automated, :reports, :reach, :detections, :opened_us, :due_us, :assignee, :assigned_us, :closed_us, :decision_id)`, c)
	return err
}

// UpdateCase writes every mutable field of c.
func (t *IncidentTx) UpdateCase(ctx context.Context, c *warden.Case) error {
	_, err := t.tx.NamedExecContext(ctx, `UPDATE incident_cases SET owner = :owner, status = :status, queue = :queue, category = :category,
		priority = :priority, trusted = :trusted, automated = :automated, reports = :reports, reach = :reach, detections = :detections,
		due_us = :due_us, assignee = :assignee, assigned_us = :assigned_us, closed_us = :closed_us, decision_id = :decision_id WHERE id = :id`, c)
	return err
}

// Case returns one case, or nil.
func (t *IncidentTx) Case(ctx context.Context, id string) (*warden.Case, error) {
	return getOne[warden.Case](ctx, t.tx, "SELECT "+caseCols+" FROM incident_cases WHERE id = $1", id)
}

// ClaimCase assigns an open case to moderator unless another moderator
// holds it; the conditional UPDATE makes two claims race safely. It reports
// whether moderator now holds the case.
func (t *IncidentTx) ClaimCase(ctx context.Context, id, moderator string, at warden.Micros) (bool, error) {
	res, err := t.tx.ExecContext(ctx, `UPDATE incident_cases SET assignee = $1, assigned_us = $2, status = $3
		WHERE id = $4 AND closed_us = 0 AND (assignee = '' OR assignee = $1)`, moderator, at, warden.CaseInReview, id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ReleaseCase puts a case held by moderator back in its queue.
func (db *DB) ReleaseCase(ctx context.Context, id, moderator string) (bool, error) {
	res, err := db.ExecContext(ctx, `UPDATE incident_cases SET assignee = '', assigned_us = 0, status = $1
		WHERE id = $2 AND closed_us = 0 AND assignee = $3`, warden.CaseOpen, id, moderator)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// NextCase returns the id of the most urgent unassigned open case in queue
// (any queue if empty), or "".
func (db *DB) NextCase(ctx context.Context, queue string) (string, error) {
	q := "SELECT id FROM incident_cases WHERE closed_us = 0 AND assignee = ''"
	args := []any{}
	if queue != "" {
		q += " AND queue = $1"
		args = append(args, queue)
	}
	q += " ORDER BY priority DESC, due_us, id LIMIT 1"
	var id string
	err := db.Reader.GetContext(ctx, &id, q, args...)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return id, err
}

const decisionCols = "id, case_id, subject_kind, subject_id, owner, action, category, policy, explanation, note, source, automated, detected, decided_by, decided_us, ends_us, reversed_us, sor"

// InsertDecision stores a decision.
func (t *IncidentTx) InsertDecision(ctx context.Context, d *warden.Decision) error {
	_, err := t.tx.NamedExecContext(ctx, `INSERT INTO incident_decisions (`+decisionCols+`) VALUES
		(:id, :case_id, :subject_kind, :subject_id, :owner, :action, :category, :policy, :explanation, :note, :source, :automated, :detected, :decided_by, :decided_us, :ends_us, :reversed_us, :sor)`, d)
	return err
}

// Decision returns one decision, or nil.
func (t *IncidentTx) Decision(ctx context.Context, id string) (*warden.Decision, error) {
	return getOne[warden.Decision](ctx, t.tx, "SELECT "+decisionCols+" FROM incident_decisions WHERE id = $1", id)
}

// ReverseDecision marks a decision reversed.
func (t *IncidentTx) ReverseDecision(ctx context.Context, id string, at warden.Micros) error {
	_, err := t.tx.ExecContext(ctx, "UPDATE incident_decisions SET reversed_us = $1 WHERE id = $2", at, id)
	return err
}

const appealCols = "id, decision_id, case_id, report_id, appellant, kind, reason, status, filed_us, decided_us, decided_by, explanation"

// InsertAppeal stores an appeal.
func (t *IncidentTx) InsertAppeal(ctx context.Context, a *warden.Appeal) error {
	_, err := t.tx.NamedExecContext(ctx, `INSERT INTO incident_appeals (`+appealCols+`) VALUES
		(:id, :decision_id, :case_id, :report_id, :appellant, :kind, :reason, :status, :filed_us, :decided_us, :decided_by, :explanation)`, a)
	return err
}

// Appeal returns one appeal, or nil.
func (t *IncidentTx) Appeal(ctx context.Context, id string) (*warden.Appeal, error) {
	return getOne[warden.Appeal](ctx, t.tx, "SELECT "+appealCols+" FROM incident_appeals WHERE id = $1", id)
}

// PendingAppeal returns appellant's pending appeal of a decision, or nil.
func (t *IncidentTx) PendingAppeal(ctx context.Context, decisionID, appellant string) (*warden.Appeal, error) {
	return getOne[warden.Appeal](ctx, t.tx, "SELECT "+appealCols+" FROM incident_appeals WHERE decision_id = $1 AND appellant = $2 AND status = $3",
		decisionID, appellant, warden.AppealPending)
}

// DecideAppeal records an appeal's outcome; it fails with ECONFLICT when the
// appeal was already decided.
func (t *IncidentTx) DecideAppeal(ctx context.Context, a *warden.Appeal) error {
	res, err := t.tx.ExecContext(ctx, `UPDATE incident_appeals SET status = $1, decided_us = $2, decided_by = $3, explanation = $4 WHERE id = $5 AND status = $6`,
		a.Status, a.DecidedAt, a.DecidedBy, a.Explanation, a.ID, warden.AppealPending)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return warden.Errorf(warden.ECONFLICT, "appeal %s was already decided", a.ID)
	}
	return nil
}

// InsertNotification stores n; with a Dedupe key already used for the same
// user it stores nothing and reports false.
func (t *IncidentTx) InsertNotification(ctx context.Context, n *warden.Notification) (bool, error) {
	res, err := t.tx.NamedExecContext(ctx, `INSERT INTO incident_notifications (id, user_id, kind, report_id, case_id, decision_id, title, body, data, created_us, dedupe)
		VALUES (:id, :user_id, :kind, :report_id, :case_id, :decision_id, :title, :body, :data, :created_us, :dedupe) ON CONFLICT DO NOTHING`, n)
	if err != nil {
		return false, err
	}
	k, err := res.RowsAffected()
	return k == 1, err
}

// InsertDelivery queues d.
func (t *IncidentTx) InsertDelivery(ctx context.Context, d *warden.Delivery) error {
	if d.Kind == "" {
		d.Kind = warden.DeliveryNotification
	}
	_, err := t.tx.ExecContext(ctx, insertDeliverySQL, deliveryArgs(d)...)
	return err
}

// RescheduleDelivery makes the pending deliveries of kind for ref due at
// next with payload (a restriction lifted early by an appeal, say, whose
// delivery was scheduled for the end of its term) and reports how many
// there were.
func (t *IncidentTx) RescheduleDelivery(ctx context.Context, kind, ref, payload string, next warden.Micros) (int64, error) {
	res, err := t.tx.ExecContext(ctx, `UPDATE incident_deliveries SET next_us = $1, payload = $2
		WHERE notification = $3 AND kind = $4 AND status = $5`, next, payload, ref, kind, warden.DeliveryPending)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// Contact returns the e-mail address a user gave, or "".
func (t *IncidentTx) Contact(ctx context.Context, user string) (string, error) {
	var email string
	err := t.tx.GetContext(ctx, &email, "SELECT email FROM incident_contacts WHERE user_id = $1", user)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return email, err
}

// SetContact records the e-mail address a user gave with a notice.
func (t *IncidentTx) SetContact(ctx context.Context, user, email string, at warden.Micros) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO incident_contacts (user_id, email, updated_us) VALUES ($1, $2, $3)
		ON CONFLICT (user_id) DO UPDATE SET email = excluded.email, updated_us = excluded.updated_us`, user, email, at)
	return err
}

// Label is the root's enforcement label.
type Label = warden.Label

// PutLabel sets a label (replacing an earlier one of the same name).
func (t *IncidentTx) PutLabel(ctx context.Context, l Label) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO incident_labels (entity, label, decision_id, created_us, expires_us) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (entity, label) DO UPDATE SET decision_id = excluded.decision_id, created_us = excluded.created_us, expires_us = excluded.expires_us`,
		l.Entity, l.Label, l.DecisionID, l.CreatedAt, l.ExpiresAt)
	return err
}

// DeleteDecisionLabels removes the labels a decision set and returns them.
func (t *IncidentTx) DeleteDecisionLabels(ctx context.Context, decisionID string) ([]Label, error) {
	var out []Label
	if err := t.tx.SelectContext(ctx, &out, "SELECT entity, label, decision_id, created_us, expires_us FROM incident_labels WHERE decision_id = $1", decisionID); err != nil {
		return nil, err
	}
	_, err := t.tx.ExecContext(ctx, "DELETE FROM incident_labels WHERE decision_id = $1", decisionID)
	return out, err
}

// AllLabels calls fn with every label, for loading the in-memory set.
func (db *DB) AllLabels(ctx context.Context, fn func(Label)) error {
	rows, err := db.Reader.QueryxContext(ctx, "SELECT entity, label, decision_id, created_us, expires_us FROM incident_labels")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var l Label
		if err := rows.StructScan(&l); err != nil {
			return err
		}
		fn(l)
	}
	return rows.Err()
}

// AddCaseEvent appends to a case's audit log.
func (t *IncidentTx) AddCaseEvent(ctx context.Context, e warden.CaseEvent) error {
	_, err := t.tx.ExecContext(ctx, "INSERT INTO incident_case_events (case_id, actor, kind, detail, at_us) VALUES ($1, $2, $3, $4, $5)",
		e.CaseID, e.Actor, e.Kind, e.Detail, e.At)
	return err
}

// AddCaseEvent appends to a case's audit log outside a transaction.
func (db *DB) AddCaseEvent(ctx context.Context, e warden.CaseEvent) error {
	_, err := db.ExecContext(ctx, "INSERT INTO incident_case_events (case_id, actor, kind, detail, at_us) VALUES ($1, $2, $3, $4, $5)",
		e.CaseID, e.Actor, e.Kind, e.Detail, e.At)
	return err
}

type getter interface {
	GetContext(ctx context.Context, dest any, query string, args ...any) error
}

// getOne returns the row the query selects, or nil when there is none.
func getOne[T any](ctx context.Context, q getter, query string, args ...any) (*T, error) {
	v := new(T)
	err := q.GetContext(ctx, v, query, args...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return v, nil
}

// NoticeRecipients returns the users sent a notice of kind about a decision.
func (t *IncidentTx) NoticeRecipients(ctx context.Context, decisionID, kind string) ([]string, error) {
	var out []string
	err := t.tx.SelectContext(ctx, &out, "SELECT DISTINCT user_id FROM incident_notifications WHERE decision_id = $1 AND kind = $2 ORDER BY user_id", decisionID, kind)
	return out, err
}

// MoveReports re-files every report of one case under another, back at
// status received (a case reopened on appeal).
func (t *IncidentTx) MoveReports(ctx context.Context, from, to string) (int, error) {
	res, err := t.tx.ExecContext(ctx, "UPDATE incident_reports SET case_id = $1, status = $2, decision_id = '', decided_us = 0 WHERE case_id = $3",
		to, warden.ReportReceived, from)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// ReporterStanding is a reporter's place in the Art. 23 procedure, with
// their recent record: of their last 200 reports, how many were decided and
// how many of those led to a restriction still in force.
type ReporterStanding struct {
	Reporter       string        `db:"reporter"`
	WarnedAt       warden.Micros `db:"warned_us"`
	SuspendedAt    warden.Micros `db:"suspended_us"`
	SuspendedUntil warden.Micros `db:"suspended_until_us"`
	Suspensions    int           `db:"suspensions"`
	Decided        int           `db:"decided"`
	Actioned       int           `db:"actioned"`
}

// ReporterStanding returns the reporter's standing and record in one
// statement (intake runs it for every report). The bound of 200 keeps the
// cost flat for prolific reporters, and lets an old record fade.
func (t *IncidentTx) ReporterStanding(ctx context.Context, reporter string) (ReporterStanding, error) {
	var st ReporterStanding
	err := t.tx.GetContext(ctx, &st, `SELECT $1 AS reporter, COALESCE(s.warned_us, 0) AS warned_us, COALESCE(s.suspended_us, 0) AS suspended_us,
		COALESCE(s.suspended_until_us, 0) AS suspended_until_us, COALESCE(s.suspensions, 0) AS suspensions, rec.decided, rec.actioned
		FROM (SELECT COUNT(*) AS decided, COALESCE(SUM(CASE WHEN d.action <> $2 AND d.reversed_us = 0 THEN 1 ELSE 0 END), 0) AS actioned
			FROM (SELECT decision_id FROM incident_reports WHERE reporter = $1 ORDER BY received_us DESC LIMIT 200) r
			JOIN incident_decisions d ON d.id = r.decision_id) rec
		LEFT JOIN incident_reporters s ON s.reporter = $1`, reporter, warden.ActNoViolation)
	return st, err
}

// SetReporterStanding stores a reporter's standing.
func (t *IncidentTx) SetReporterStanding(ctx context.Context, s ReporterStanding) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO incident_reporters (reporter, warned_us, suspended_us, suspended_until_us, suspensions) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (reporter) DO UPDATE SET warned_us = excluded.warned_us, suspended_us = excluded.suspended_us,
		suspended_until_us = excluded.suspended_until_us, suspensions = excluded.suspensions`,
		s.Reporter, s.WarnedAt, s.SuspendedAt, s.SuspendedUntil, s.Suspensions)
	return err
}

// OpenCampaign returns the open campaign case of kind that holds any of
// keys, or "".
func (t *IncidentTx) OpenCampaign(ctx context.Context, kind string, keys []string) (string, error) {
	if len(keys) == 0 {
		return "", nil
	}
	args := []any{kind}
	ph := make([]string, len(keys))
	for i, k := range keys {
		args = append(args, k)
		ph[i] = fmt.Sprintf("$%d", i+2)
	}
	var id string
	err := t.tx.GetContext(ctx, &id, `SELECT k.case_id FROM incident_campaign_keys k JOIN incident_cases c ON c.id = k.case_id
		WHERE k.kind = $1 AND k.key IN (`+strings.Join(ph, ",")+`) AND c.closed_us = 0 ORDER BY c.opened_us LIMIT 1`, args...)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return id, err
}

// AddCampaignKeys records keys of campaign case caseID.
func (t *IncidentTx) AddCampaignKeys(ctx context.Context, caseID, kind string, keys []string) error {
	for _, k := range keys {
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO incident_campaign_keys (kind, key, case_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, kind, k, caseID); err != nil {
			return err
		}
	}
	return nil
}

// SetReportDecision marks one report decided by decisionID.
func (t *IncidentTx) SetReportDecision(ctx context.Context, reportID, decisionID string, at warden.Micros) error {
	_, err := t.tx.ExecContext(ctx, `UPDATE incident_reports SET status = $1, decision_id = $2, decided_us = $3 WHERE id = $4`,
		warden.ReportDecided, decisionID, at, reportID)
	return err
}
