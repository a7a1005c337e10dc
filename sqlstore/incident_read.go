package sqlstore

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wardenhq/warden"
)

// CaseFilter selects cases for the queue view.
type CaseFilter struct {
	Queue    string
	Status   string        // open, in_review or closed; "" for every case not closed
	DueFrom  warden.Micros // with DueTo: only cases due in [DueFrom, DueTo)
	DueTo    warden.Micros
	Assignee string // a principal id, or Unassigned
	Category string
	// SLA, with Now, keeps the cases in one SLA state: SLABreached (open
	// past the deadline, or closed after it), SLADueSoon (open, due
	// within the hour) or SLAOnTime (open and due later, or closed in
	// time).
	SLA string
	Now warden.Micros
	// Subject, when set, finds the cases about that account or content id:
	// its own, those of content it posted, and campaigns it is a member
	// of; with Status "" it finds them whether open or closed.
	Subject string
	// After is the cursor of the last case of the page before.
	After *CaseCursor
	Limit int
}

// Unassigned, as CaseFilter.Assignee, keeps the cases nobody holds.
const Unassigned = "-"

// SLA states a CaseFilter can keep.
const (
	SLABreached = "breached"
	SLADueSoon  = "due_soon"
	SLAOnTime   = "on_time"
)

// CaseCursor is where a page of cases ends: the order it was listed in and
// the last case's sort keys. Pages are keyset-paged, so a page deep in a
// million cases costs what the first does.
type CaseCursor struct {
	Order string  `json:"o"`
	Keys  []int64 `json:"k"`
	ID    string  `json:"id"`
}

// sortKey is one column of a listing's order.
type sortKey struct {
	col  string
	desc bool
	of   func(*warden.Case) int64
}

// caseOrders are the orders a listing can be in, by name.
var caseOrders = map[string][]sortKey{
	"urgent": {{"priority", true, func(c *warden.Case) int64 { return int64(c.Priority) }}, {"due_us", false, func(c *warden.Case) int64 { return int64(c.DueAt) }}},
	"due":    {{"due_us", false, func(c *warden.Case) int64 { return int64(c.DueAt) }}, {"priority", true, func(c *warden.Case) int64 { return int64(c.Priority) }}},
	"closed": {{"closed_us", true, func(c *warden.Case) int64 { return int64(c.ClosedAt) }}},
	"recent": {{"opened_us", true, func(c *warden.Case) int64 { return int64(c.OpenedAt) }}},
}

// order names the order f lists in: most urgent first, soonest due for the
// about-to-breach view, latest closed for closed cases, newest first for a
// subject's history.
func (f *CaseFilter) order() string {
	switch {
	case f.Status == warden.CaseClosed:
		return "closed"
	case f.DueTo != 0:
		return "due"
	case f.Subject != "" && f.Status == "":
		return "recent"
	}
	return "urgent"
}

// CaseOrderOf returns the order a listing with f is in, for a cursor.
func CaseOrderOf(f CaseFilter) string { return f.order() }

// CursorAfter returns the cursor that continues a listing in order after c.
func CursorAfter(order string, c *warden.Case) *CaseCursor {
	keys := caseOrders[order]
	cur := &CaseCursor{Order: order, ID: c.ID, Keys: make([]int64, len(keys))}
	for i, k := range keys {
		cur.Keys[i] = k.of(c)
	}
	return cur
}

// Cases lists cases, most urgent first (highest priority, then the SLA
// deadline), in pages of f.Limit continued with f.After. The partial
// indexes on open cases keep this fast with millions of closed cases behind
// them.
func (db *DB) Cases(ctx context.Context, f CaseFilter) ([]warden.Case, error) {
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	where := caseWhere(f, arg)
	order := f.order()
	keys := caseOrders[order]
	if c := f.After; c != nil {
		if c.Order != order || len(c.Keys) != len(keys) {
			return nil, warden.FieldErrorf("cursor", "the cursor belongs to another listing: start again without it")
		}
		// (k1, k2, id) after (v1, v2, last), each key in its direction
		var or []string
		for i := 0; i <= len(keys); i++ {
			var and []string
			for j := 0; j < i; j++ {
				and = append(and, keys[j].col+" = "+arg(c.Keys[j]))
			}
			if i < len(keys) {
				op := " > "
				if keys[i].desc {
					op = " < "
				}
				and = append(and, keys[i].col+op+arg(c.Keys[i]))
			} else {
				and = append(and, "id > "+arg(c.ID))
			}
			or = append(or, "("+strings.Join(and, " AND ")+")")
		}
		where = append(where, "("+strings.Join(or, " OR ")+")")
	}
	var by []string
	for _, k := range keys {
		if k.desc {
			by = append(by, k.col+" DESC")
		} else {
			by = append(by, k.col)
		}
	}
	by = append(by, "id")
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	q := "SELECT " + caseCols + " FROM incident_cases"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY " + strings.Join(by, ", ") + fmt.Sprintf(" LIMIT %d", limit)
	var out []warden.Case
	err := db.Reader.SelectContext(ctx, &out, q, args...)
	return out, err
}

// caseWhere is the WHERE clause of f, without its cursor.
func caseWhere(f CaseFilter, arg func(any) string) []string {
	var where []string
	closed := false
	switch {
	case f.Status == warden.CaseClosed:
		where, closed = append(where, "closed_us <> 0"), true
	case f.Status == "" && f.Subject != "":
		// every case of the subject, open or closed
	default:
		where = append(where, "closed_us = 0")
		if f.Status != "" {
			where = append(where, "status = "+arg(f.Status))
		}
	}
	if f.Queue != "" {
		where = append(where, "queue = "+arg(f.Queue))
	}
	if f.Category != "" {
		where = append(where, "category = "+arg(f.Category))
	}
	if f.Subject != "" {
		a := arg(f.Subject)
		// one index lookup per branch, not an OR the planner scans for
		where = append(where, "id IN (SELECT id FROM incident_cases WHERE subject_id = "+a+" UNION SELECT id FROM incident_cases WHERE owner = "+a+
			" UNION SELECT case_id FROM incident_reports WHERE subject_id = "+a+")")
	}
	switch f.Assignee {
	case "":
	case Unassigned:
		where = append(where, "assignee = ''")
	default:
		where = append(where, "assignee = "+arg(f.Assignee))
	}
	if f.DueTo != 0 {
		where = append(where, "due_us >= "+arg(f.DueFrom), "due_us < "+arg(f.DueTo))
	}
	soon := f.Now + warden.Micros(time.Hour.Microseconds())
	switch {
	case f.SLA == SLABreached && closed:
		where = append(where, "closed_us > due_us")
	case f.SLA == SLABreached:
		where = append(where, "due_us < "+arg(f.Now))
	case f.SLA == SLADueSoon:
		where = append(where, "closed_us = 0", "due_us >= "+arg(f.Now), "due_us < "+arg(soon))
	case f.SLA == SLAOnTime && closed:
		where = append(where, "closed_us <= due_us")
	case f.SLA == SLAOnTime:
		where = append(where, "due_us >= "+arg(soon))
	}
	return where
}

// CaseCount is how many cases one queue holds in one status.
type CaseCount struct {
	Queue  string `db:"queue" json:"queue"`
	Status string `db:"status" json:"status"`
	N      int64  `db:"n" json:"count"`
}

// CaseCounts counts cases per queue and status: the open and in-review
// ones from the partial indexes on open cases, and those closed since
// closedSince (a range of the closed-time index: the history behind it can
// grow without bound).
func (db *DB) CaseCounts(ctx context.Context, closedSince warden.Micros) ([]CaseCount, error) {
	var out []CaseCount
	err := db.Reader.SelectContext(ctx, &out, `SELECT queue, status, COUNT(*) AS n FROM incident_cases WHERE closed_us = 0 GROUP BY queue, status
		UNION ALL SELECT queue, 'closed' AS status, COUNT(*) AS n FROM incident_cases WHERE closed_us >= $1 AND closed_us <> 0 GROUP BY queue
		ORDER BY queue, status`, max(closedSince, 1))
	return out, err
}

// CaseByID returns one case, or nil.
func (db *DB) CaseByID(ctx context.Context, id string) (*warden.Case, error) {
	return getOne[warden.Case](ctx, db.Reader, "SELECT "+caseCols+" FROM incident_cases WHERE id = $1", id)
}

// CaseReports returns the reports on a case, oldest first.
func (db *DB) CaseReports(ctx context.Context, caseID string) ([]warden.Report, error) {
	var out []warden.Report
	err := db.Reader.SelectContext(ctx, &out, "SELECT "+reportCols+" FROM incident_reports WHERE case_id = $1 ORDER BY received_us, id", caseID)
	return out, err
}

// ReportByID returns one report, or nil.
func (db *DB) ReportByID(ctx context.Context, id string) (*warden.Report, error) {
	return getOne[warden.Report](ctx, db.Reader, "SELECT "+reportCols+" FROM incident_reports WHERE id = $1", id)
}

// DecisionByID returns one decision, or nil.
func (db *DB) DecisionByID(ctx context.Context, id string) (*warden.Decision, error) {
	return getOne[warden.Decision](ctx, db.Reader, "SELECT "+decisionCols+" FROM incident_decisions WHERE id = $1", id)
}

// SubjectDecisions returns the decisions on a subject, newest first.
func (db *DB) SubjectDecisions(ctx context.Context, kind, id string, limit int) ([]warden.Decision, error) {
	var out []warden.Decision
	err := db.Reader.SelectContext(ctx, &out, "SELECT "+decisionCols+" FROM incident_decisions WHERE subject_kind = $1 AND subject_id = $2 ORDER BY decided_us DESC LIMIT $3", kind, id, limit)
	return out, err
}

// CaseEvents returns a case's audit log, oldest first.
func (db *DB) CaseEvents(ctx context.Context, caseID string) ([]warden.CaseEvent, error) {
	var out []warden.CaseEvent
	err := db.Reader.SelectContext(ctx, &out, "SELECT seq, case_id, actor, kind, detail, at_us FROM incident_case_events WHERE case_id = $1 ORDER BY seq", caseID)
	return out, err
}

// Appeals lists appeals with status ("" for all), oldest first.
func (db *DB) Appeals(ctx context.Context, status string, limit int) ([]warden.Appeal, error) {
	q := "SELECT " + appealCols + " FROM incident_appeals"
	var args []any
	if status != "" {
		q += " WHERE status = $1"
		args = append(args, status)
	}
	q += fmt.Sprintf(" ORDER BY filed_us, id LIMIT %d", max(1, min(limit, 1000)))
	var out []warden.Appeal
	err := db.Reader.SelectContext(ctx, &out, q, args...)
	return out, err
}

// CaseAppeals returns the appeals against a case's decisions, oldest first.
func (db *DB) CaseAppeals(ctx context.Context, caseID string) ([]warden.Appeal, error) {
	var out []warden.Appeal
	err := db.Reader.SelectContext(ctx, &out, "SELECT "+appealCols+" FROM incident_appeals WHERE case_id = $1 ORDER BY filed_us, id", caseID)
	return out, err
}

const notificationCols = "seq, id, user_id, kind, report_id, case_id, decision_id, title, body, data, created_us, dedupe"

// Notifications returns a user's inbox after seq (0 for the start), oldest
// first.
func (db *DB) Notifications(ctx context.Context, user string, after int64, limit int) ([]warden.Notification, error) {
	var out []warden.Notification
	err := db.Reader.SelectContext(ctx, &out, "SELECT "+notificationCols+" FROM incident_notifications WHERE user_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
		user, after, max(1, min(limit, 1000)))
	return out, err
}

// ReportNotifications returns the notices sent about one report, oldest
// first: the reporter's timeline.
func (db *DB) ReportNotifications(ctx context.Context, reportID string) ([]warden.Notification, error) {
	var out []warden.Notification
	err := db.Reader.SelectContext(ctx, &out, "SELECT "+notificationCols+" FROM incident_notifications WHERE report_id = $1 ORDER BY seq", reportID)
	return out, err
}

// Statements calls fn with the statement of reasons of every restrictive
// decision taken in [from, to), in decision order.
func (db *DB) Statements(ctx context.Context, from, to warden.Micros, fn func(decisionID string, sor json.RawMessage) error) error {
	rows, err := db.Reader.QueryContext(ctx, "SELECT id, sor FROM incident_decisions WHERE sor <> '' AND decided_us >= $1 AND decided_us < $2 ORDER BY decided_us, id", from, to)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, sor string
		if err := rows.Scan(&id, &sor); err != nil {
			return err
		}
		if err := fn(id, json.RawMessage(sor)); err != nil {
			return err
		}
	}
	return rows.Err()
}

// NoticeRow is one report as the transparency report counts it.
type NoticeRow struct {
	Category   string        `db:"category"`
	Source     string        `db:"source"`
	Flagger    string        `db:"flagger"`
	ReceivedAt warden.Micros `db:"received_us"`
	DecidedAt  warden.Micros `db:"decided_us"`
	Action     string        `db:"action"`
	Automated  bool          `db:"automated"`
}

// NoticeRows returns the reports received in [from, to) with the action
// taken on them ("" while undecided).
func (db *DB) NoticeRows(ctx context.Context, from, to warden.Micros) ([]NoticeRow, error) {
	var out []NoticeRow
	err := db.Reader.SelectContext(ctx, &out, `SELECT r.category, r.source, r.flagger, r.received_us, r.decided_us, COALESCE(d.action, '') AS action, COALESCE(d.automated, FALSE) AS automated
		FROM incident_reports r LEFT JOIN incident_decisions d ON d.id = r.decision_id
		WHERE r.received_us >= $1 AND r.received_us < $2`, from, to)
	return out, err
}

// DecisionRows returns the decisions taken in [from, to), notes left out.
func (db *DB) DecisionRows(ctx context.Context, from, to warden.Micros) ([]warden.Decision, error) {
	var out []warden.Decision
	err := db.Reader.SelectContext(ctx, &out, "SELECT "+strings.Replace(decisionCols, "note, ", "'' AS note, ", 1)+" FROM incident_decisions WHERE decided_us >= $1 AND decided_us < $2", from, to)
	return out, err
}

// AppealRows returns the appeals filed in [from, to).
func (db *DB) AppealRows(ctx context.Context, from, to warden.Micros) ([]warden.Appeal, error) {
	var out []warden.Appeal
	err := db.Reader.SelectContext(ctx, &out, "SELECT "+appealCols+" FROM incident_appeals WHERE filed_us >= $1 AND filed_us < $2", from, to)
	return out, err
}

// CountNotifications counts notices of kind created in [from, to).
func (db *DB) CountNotifications(ctx context.Context, kind string, from, to warden.Micros) (int, error) {
	var n int
	err := db.Reader.GetContext(ctx, &n, "SELECT COUNT(*) FROM incident_notifications WHERE kind = $1 AND created_us >= $2 AND created_us < $3", kind, from, to)
	return n, err
}

// SubjectEvent is one event the subject acted in, from the event log.
type SubjectEvent struct {
	ID      string        `db:"id" json:"id"`
	Type    string        `db:"type" json:"type"`
	Target  string        `db:"target" json:"target,omitempty"`
	Time    warden.Micros `db:"time_us" json:"time"`
	Body    string        `db:"body" json:"-"`
	Verdict string        `db:"verdict" json:"-"`
}

// SubjectEvents returns the subject's events with event time at or after
// since, newest first, at most limit of them. It reads the event log through
// its (actor, time_us) index.
func (t *IncidentTx) SubjectEvents(ctx context.Context, actor string, since warden.Micros, types []string, limit int) ([]SubjectEvent, error) {
	return subjectEvents(ctx, t.tx, actor, since, types, limit)
}

// SubjectEvents is SubjectEvents outside a transaction.
func (db *DB) SubjectEvents(ctx context.Context, actor string, since warden.Micros, types []string, limit int) ([]SubjectEvent, error) {
	return subjectEvents(ctx, db.Reader, actor, since, types, limit)
}

type selecter interface {
	SelectContext(ctx context.Context, dest any, query string, args ...any) error
}

func subjectEvents(ctx context.Context, q selecter, actor string, since warden.Micros, types []string, limit int) ([]SubjectEvent, error) {
	args := []any{actor, since}
	query := "SELECT id, type, target, time_us, body, verdict FROM events WHERE actor = $1 AND time_us >= $2"
	if len(types) > 0 {
		ph := make([]string, len(types))
		for i, ty := range types {
			args = append(args, ty)
			ph[i] = fmt.Sprintf("$%d", len(args))
		}
		query += " AND type IN (" + strings.Join(ph, ", ") + ")"
	}
	query += fmt.Sprintf(" ORDER BY time_us DESC LIMIT %d", max(1, limit))
	var out []SubjectEvent
	err := q.SelectContext(ctx, &out, query, args...)
	return out, err
}

// FirstEventTime returns the event time of the actor's earliest event (its
// signup, for an account), or 0.
func (t *IncidentTx) FirstEventTime(ctx context.Context, actor string) (warden.Micros, error) {
	var us warden.Micros
	err := t.tx.GetContext(ctx, &us, "SELECT COALESCE(MIN(time_us), 0) FROM events WHERE actor = $1", actor)
	return us, err
}

const deliveryCols = "seq, kind, notification, channel, target, payload, status, attempts, next_us, last_error, created_us, done_us"

// ClaimDeliveries leases up to limit pending deliveries due at or before now
// to owner until leaseUntil and returns them, most overdue first. A row
// leased to another worker whose lease has not run out is skipped, so
// workers in several processes on one PostgreSQL never send a row twice
// while its lease holds (FOR UPDATE SKIP LOCKED lets them claim side by side
// without waiting on each other; SQLite has one writer, so its UPDATE is the
// claim).
func (db *DB) ClaimDeliveries(ctx context.Context, owner string, now, leaseUntil warden.Micros, limit int) ([]warden.Delivery, error) {
	lock := ""
	if db.Dialect == Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	var out []warden.Delivery
	err := db.SelectContext(ctx, &out, `UPDATE incident_deliveries SET lease_owner = $1, lease_us = $2
		WHERE seq IN (SELECT seq FROM incident_deliveries WHERE status = $3 AND next_us <= $4 AND lease_us <= $4
			ORDER BY next_us, seq LIMIT $5`+lock+`)
		RETURNING `+deliveryCols, owner, leaseUntil, warden.DeliveryPending, now, max(1, limit))
	slices.SortFunc(out, func(a, b warden.Delivery) int {
		return cmp.Or(cmp.Compare(a.NextAt, b.NextAt), cmp.Compare(a.Seq, b.Seq))
	})
	return out, err
}

// SettleDelivery records the outcome of owner's attempt at d and releases
// its lease. It reports false, changing nothing, when the lease was lost
// (it ran out and another worker claimed the row).
func (db *DB) SettleDelivery(ctx context.Context, d *warden.Delivery, owner string) (bool, error) {
	res, err := db.ExecContext(ctx, `UPDATE incident_deliveries SET status = $1, attempts = $2, next_us = $3,
		last_error = $4, done_us = $5, lease_owner = '', lease_us = 0 WHERE seq = $6 AND lease_owner = $7 AND status = $8`,
		d.Status, d.Attempts, d.NextAt, d.LastError, d.DoneAt, d.Seq, owner, warden.DeliveryPending)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// OutboxDepth counts deliveries by status: pending (due or not) and dead.
func (db *DB) OutboxDepth(ctx context.Context) (pending, dead int, err error) {
	err = db.Reader.QueryRowContext(ctx, `SELECT
		COALESCE(SUM(CASE WHEN status = $1 THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN status = $2 THEN 1 ELSE 0 END), 0) FROM incident_deliveries`,
		warden.DeliveryPending, warden.DeliveryDead).Scan(&pending, &dead)
	return pending, dead, err
}

// Deliveries lists deliveries with status, newest first.
func (db *DB) Deliveries(ctx context.Context, status string, limit int) ([]warden.Delivery, error) {
	var out []warden.Delivery
	err := db.Reader.SelectContext(ctx, &out, `SELECT `+deliveryCols+`
		FROM incident_deliveries WHERE status = $1 ORDER BY seq DESC LIMIT $2`, status, max(1, min(limit, 1000)))
	return out, err
}

// RetryDelivery puts a dead delivery back in the queue, due now.
func (db *DB) RetryDelivery(ctx context.Context, seq int64, now warden.Micros) (bool, error) {
	res, err := db.ExecContext(ctx, "UPDATE incident_deliveries SET status = $1, attempts = 0, next_us = $2, lease_owner = '', lease_us = 0 WHERE seq = $3 AND status = $4",
		warden.DeliveryPending, now, seq, warden.DeliveryDead)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// RecentEvents calls fn with the last limit events of the log, newest first
// (only actor and body are filled in).
func (db *DB) RecentEvents(ctx context.Context, limit int, fn func(EventRecord) error) error {
	rows, err := db.Reader.QueryContext(ctx, fmt.Sprintf("SELECT actor, body FROM events ORDER BY seq DESC LIMIT %d", max(1, limit)))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var r EventRecord
		var body string
		if err := rows.Scan(&r.Actor, &body); err != nil {
			return err
		}
		r.Body = []byte(body)
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// CountSuspensions counts reporters whose notice processing was suspended in
// [from, to) (their latest suspension).
func (db *DB) CountSuspensions(ctx context.Context, from, to warden.Micros) (int, error) {
	var n int
	err := db.Reader.GetContext(ctx, &n, "SELECT COUNT(*) FROM incident_reporters WHERE suspended_us >= $1 AND suspended_us < $2", from, to)
	return n, err
}

// Unsubmitted returns up to limit statements of reasons not yet in the
// Transparency Database ledger, oldest decision first, as puid → statement.
func (db *DB) Unsubmitted(ctx context.Context, limit int) ([]string, []json.RawMessage, error) {
	rows, err := db.Reader.QueryContext(ctx, `SELECT d.id, d.sor FROM incident_decisions d LEFT JOIN incident_tdb l ON l.puid = d.id
		WHERE d.sor <> '' AND l.puid IS NULL ORDER BY d.decided_us, d.id LIMIT $1`, limit)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var ids []string
	var sors []json.RawMessage
	for rows.Next() {
		var id, sor string
		if err := rows.Scan(&id, &sor); err != nil {
			return nil, nil, err
		}
		ids, sors = append(ids, id), append(sors, json.RawMessage(sor))
	}
	return ids, sors, rows.Err()
}

// MarkSubmitted records puids as in the Transparency Database; existing
// marks those the database already had (a resend after a lost answer).
func (db *DB) MarkSubmitted(ctx context.Context, puids []string, existing bool, at warden.Micros) error {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, p := range puids {
		if _, err := tx.ExecContext(ctx, "INSERT INTO incident_tdb (puid, submitted_us, existing) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", p, at, existing); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// QueueFigures are one queue's case counts, for the operations metrics.
type QueueFigures struct {
	Queue string `db:"queue"`
	// Opened counts every case ever opened in the queue, Closed those
	// decided; Open those not yet decided (open or in review), Overdue the
	// open ones past their SLA, Breached the decided ones decided after it.
	Opened   int64 `db:"opened"`
	Closed   int64 `db:"closed"`
	Open     int64 `db:"open"`
	Overdue  int64 `db:"overdue"`
	Breached int64 `db:"breached"`
}

// IncidentFigures returns per-queue case counts as of now and the number
// of notifications stored per kind.
func (db *DB) IncidentFigures(ctx context.Context, now warden.Micros) ([]QueueFigures, map[string]int64, error) {
	var qs []QueueFigures
	err := db.Reader.SelectContext(ctx, &qs, `SELECT queue, COUNT(*) AS opened,
		COALESCE(SUM(CASE WHEN closed_us <> 0 THEN 1 ELSE 0 END), 0) AS closed,
		COALESCE(SUM(CASE WHEN closed_us = 0 THEN 1 ELSE 0 END), 0) AS open,
		COALESCE(SUM(CASE WHEN closed_us = 0 AND due_us < $1 THEN 1 ELSE 0 END), 0) AS overdue,
		COALESCE(SUM(CASE WHEN closed_us <> 0 AND closed_us > due_us THEN 1 ELSE 0 END), 0) AS breached
		FROM incident_cases GROUP BY queue ORDER BY queue`, now)
	if err != nil {
		return nil, nil, err
	}
	rows, err := db.Reader.QueryContext(ctx, "SELECT kind, COUNT(*) FROM incident_notifications GROUP BY kind")
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	notices := map[string]int64{}
	for rows.Next() {
		var k string
		var n int64
		if err := rows.Scan(&k, &n); err != nil {
			return nil, nil, err
		}
		notices[k] = n
	}
	return qs, notices, rows.Err()
}

// EventsByID returns the logged events among ids (as SubjectEvents), in no
// particular order; ids not in the log are left out.
func (db *DB) EventsByID(ctx context.Context, ids []string) ([]SubjectEvent, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	var out []SubjectEvent
	err := db.Reader.SelectContext(ctx, &out, "SELECT id, type, target, time_us, body, verdict FROM events WHERE id IN ("+placeholders(len(ids))+")", args...)
	return out, err
}

// RuleOutcome is what people decided on the subjects a rule flagged.
type RuleOutcome struct {
	Rule       string `db:"rule"`
	Decided    int64  `db:"decided"`    // engine reports of the rule that a decision answered
	Restricted int64  `db:"restricted"` // of those, decisions that restricted
	Reversed   int64  `db:"reversed"`   // of those, restrictions reversed on appeal
}

// RuleOutcomes returns, per rule, how the engine reports it filed were
// decided: the measure of a rule's precision that moderators and appeals
// give.
func (db *DB) RuleOutcomes(ctx context.Context) ([]RuleOutcome, error) {
	var out []RuleOutcome
	err := db.Reader.SelectContext(ctx, &out, `SELECT SUBSTR(r.reporter, 8) AS rule, COUNT(*) AS decided,
		COALESCE(SUM(CASE WHEN d.action <> $1 THEN 1 ELSE 0 END), 0) AS restricted,
		COALESCE(SUM(CASE WHEN d.action <> $1 AND d.reversed_us <> 0 THEN 1 ELSE 0 END), 0) AS reversed
		FROM incident_reports r JOIN incident_decisions d ON d.id = r.decision_id
		WHERE r.source = $2 AND r.reporter LIKE 'engine:%' GROUP BY SUBSTR(r.reporter, 8)`, warden.ActNoViolation, warden.SourceDetection)
	return out, err
}

// RecentLogged calls fn with the log's most recent events (at most limit),
// newest first, with body and verdict: the bounded scan behind the
// console's address view.
func (db *DB) RecentLogged(ctx context.Context, limit int, fn func(SubjectEvent) error) error {
	rows, err := db.Reader.QueryxContext(ctx, fmt.Sprintf("SELECT id, type, target, time_us, body, verdict FROM events ORDER BY seq DESC LIMIT %d", max(1, limit)))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var e SubjectEvent
		if err := rows.StructScan(&e); err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return rows.Err()
}
