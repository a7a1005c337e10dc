package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/wardenhq/warden"
)

// DataRequest is a user's GDPR access or erasure request.
type DataRequest struct {
	ID              string `db:"id"`
	UserID          string `db:"user_id"`
	Kind            string `db:"kind"`
	Status          string `db:"status"`
	ReceivedUS      int64  `db:"received_us"`
	DueUS           int64  `db:"due_us"`
	ExtendedUS      int64  `db:"extended_us"`
	ExtensionReason string `db:"extension_reason"`
	DoneUS          int64  `db:"done_us"`
	DoneBy          string `db:"done_by"`
	Result          string `db:"result"`
	RemindedUS      int64  `db:"reminded_us"`
}

const requestCols = "id, user_id, kind, status, received_us, due_us, extended_us, extension_reason, done_us, done_by, result, reminded_us"

// AddDataRequest stores a new request.
func (db *DB) AddDataRequest(ctx context.Context, r *DataRequest) error {
	_, err := db.ExecContext(ctx, "INSERT INTO data_requests (id, user_id, kind, status, received_us, due_us) VALUES ($1, $2, $3, $4, $5, $6)",
		r.ID, r.UserID, r.Kind, r.Status, r.ReceivedUS, r.DueUS)
	return err
}

// DataRequestByID returns one request, or nil.
func (db *DB) DataRequestByID(ctx context.Context, id string) (*DataRequest, error) {
	return getOne[DataRequest](ctx, db.DB, "SELECT "+requestCols+" FROM data_requests WHERE id = $1", id)
}

// DataRequests lists requests with one of statuses (none: all), nearest due
// first.
func (db *DB) DataRequests(ctx context.Context, statuses []string, limit int) ([]DataRequest, error) {
	q := "SELECT " + requestCols + " FROM data_requests"
	var args []any
	for i, s := range statuses {
		if i == 0 {
			q += " WHERE status IN ("
		} else {
			q += ","
		}
		args = append(args, s)
		q += fmt.Sprintf("$%d", i+1)
	}
	if len(statuses) > 0 {
		q += ")"
	}
	q += fmt.Sprintf(" ORDER BY due_us, id LIMIT %d", max(1, min(limit, 10000)))
	var out []DataRequest
	err := db.Reader.SelectContext(ctx, &out, q, args...)
	return out, err
}

// UserDataRequests lists a user's requests, newest first.
func (db *DB) UserDataRequests(ctx context.Context, user string) ([]DataRequest, error) {
	var out []DataRequest
	err := db.Reader.SelectContext(ctx, &out, "SELECT "+requestCols+" FROM data_requests WHERE user_id = $1 ORDER BY received_us DESC, id LIMIT 100", user)
	return out, err
}

// ExtendDataRequest moves an open, not yet extended request's due date;
// false when it is not open or was extended before.
func (db *DB) ExtendDataRequest(ctx context.Context, id string, due, at int64, reason string) (bool, error) {
	res, err := db.ExecContext(ctx, "UPDATE data_requests SET status = 'extended', due_us = $1, extended_us = $2, extension_reason = $3 WHERE id = $4 AND status = 'received' AND extended_us = 0",
		due, at, reason, id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// FinishDataRequest marks an open request done with its result (for an
// erasure, what was erased and kept); false when it was done already.
func (db *DB) FinishDataRequest(ctx context.Context, id, by, result string, at int64) (bool, error) {
	res, err := db.ExecContext(ctx, "UPDATE data_requests SET status = 'done', done_us = $1, done_by = $2, result = $3 WHERE id = $4 AND status <> 'done'", at, by, result, id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// MarkReminded records that a reminder went out for a request.
func (db *DB) MarkReminded(ctx context.Context, id string, at int64) error {
	_, err := db.ExecContext(ctx, "UPDATE data_requests SET reminded_us = $1 WHERE id = $2", at, id)
	return err
}

// RequestFigures are data-request counts for [from, to): received, answered
// (done) and answered by their due date.
type RequestFigures struct {
	Received     int64            `json:"received"`
	Answered     int64            `json:"answered"`
	OnTime       int64            `json:"answered_on_time"`
	Extended     int64            `json:"extended"`
	ReceivedKind map[string]int64 `json:"received_by_kind"`
}

// RequestFiguresFor counts data requests received in [from, to).
func (db *DB) RequestFiguresFor(ctx context.Context, from, to int64) (RequestFigures, error) {
	f := RequestFigures{ReceivedKind: map[string]int64{}}
	rs, err := db.Reader.QueryContext(ctx, `SELECT kind, COUNT(*), SUM(CASE WHEN done_us <> 0 THEN 1 ELSE 0 END), SUM(CASE WHEN done_us <> 0 AND done_us <= due_us THEN 1 ELSE 0 END),
		SUM(CASE WHEN extended_us <> 0 THEN 1 ELSE 0 END) FROM data_requests WHERE received_us >= $1 AND received_us < $2 GROUP BY kind`, from, to)
	if err != nil {
		return f, err
	}
	defer rs.Close()
	for rs.Next() {
		var k string
		var n, a, o, e int64
		if err := rs.Scan(&k, &n, &a, &o, &e); err != nil {
			return f, err
		}
		f.ReceivedKind[k] = n
		f.Received += n
		f.Answered += a
		f.OnTime += o
		f.Extended += e
	}
	return f, rs.Err()
}

// UserEvents calls fn with every event the user acted in, oldest first,
// read in pages.
func (db *DB) UserEvents(ctx context.Context, user string, fn func(EventRecord) error) error {
	var afterT, afterS int64 = -1 << 62, 0
	for {
		rs, err := db.Reader.QueryContext(ctx, `SELECT seq, id, type, actor, target, time_us, received_us, body, verdict FROM events
			WHERE actor = $1 AND (time_us > $2 OR (time_us = $2 AND seq > $3)) ORDER BY time_us, seq LIMIT 20000`, user, afterT, afterS)
		if err != nil {
			return err
		}
		n := 0
		for rs.Next() {
			var r EventRecord
			var body, verdict string
			if err := rs.Scan(&r.Seq, &r.ID, &r.Type, &r.Actor, &r.Target, &r.TimeUS, &r.ReceivedUS, &body, &verdict); err != nil {
				rs.Close()
				return err
			}
			r.Body, r.Verdict = []byte(body), []byte(verdict)
			afterT, afterS = r.TimeUS, r.Seq
			n++
			if err := fn(r); err != nil {
				rs.Close()
				return err
			}
		}
		if err := rs.Close(); err != nil {
			return err
		}
		if err := rs.Err(); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
	}
}

// UserReports returns the reports the user filed, oldest first.
func (db *DB) UserReports(ctx context.Context, user string) ([]warden.Report, error) {
	var out []warden.Report
	err := db.Reader.SelectContext(ctx, &out, "SELECT "+reportCols+" FROM incident_reports WHERE reporter = $1 ORDER BY received_us, id", user)
	return out, err
}

// AllNotifications returns the user's whole inbox, oldest first.
func (db *DB) AllNotifications(ctx context.Context, user string) ([]warden.Notification, error) {
	var out []warden.Notification
	err := db.Reader.SelectContext(ctx, &out, "SELECT "+notificationCols+" FROM incident_notifications WHERE user_id = $1 ORDER BY seq", user)
	return out, err
}

// OpenCasesAbout returns the ids of open cases whose subject is the account
// user: a legal hold on the evidence they rest on.
func (db *DB) OpenCasesAbout(ctx context.Context, user string) ([]string, error) {
	var out []string
	err := db.Reader.SelectContext(ctx, &out, "SELECT id FROM incident_cases WHERE subject_kind = 'account' AND subject_id = $1 AND closed_us = 0 ORDER BY id", user)
	return out, err
}

// EraseUserEvents deletes the events the user acted in and pseudonymises
// them as the target of others' events (the target column and the body's
// "target"). It returns how many it deleted and pseudonymised.
func (db *DB) EraseUserEvents(ctx context.Context, user, pseudonym string) (deleted, pseudonymised int64, err error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, 0, err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, "DELETE FROM events WHERE actor = $1", user)
	if err != nil {
		return 0, 0, fmt.Errorf("delete events: %w", err)
	}
	deleted, _ = res.RowsAffected()
	type row struct {
		Seq  int64  `db:"seq"`
		Body string `db:"body"`
	}
	var rows []row
	if err := tx.SelectContext(ctx, &rows, "SELECT seq, body FROM events WHERE target = $1", user); err != nil {
		return 0, 0, err
	}
	for _, r := range rows {
		var m map[string]json.RawMessage
		body := r.Body
		if json.Unmarshal([]byte(r.Body), &m) == nil {
			m["target"], _ = json.Marshal(pseudonym)
			b, _ := json.Marshal(m)
			body = string(b)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE events SET target = $1, body = $2 WHERE seq = $3", pseudonym, body, r.Seq); err != nil {
			return 0, 0, err
		}
	}
	pseudonymised = int64(len(rows))
	return deleted, pseudonymised, tx.Commit()
}

// EraseUserReports pseudonymises the reports the user filed, except those
// on a case in keepCases (a legal hold): the reporter becomes pseudonym and
// the description and evidence the user wrote are blanked. The report
// itself stays, since the case and its statement of reasons rest on it.
func (db *DB) EraseUserReports(ctx context.Context, user, pseudonym string, keepCases []string) (pseudonymised, kept int64, err error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, 0, err
	}
	defer tx.Rollback()
	var ids []struct {
		ID   string `db:"id"`
		Case string `db:"case_id"`
	}
	if err := tx.SelectContext(ctx, &ids, "SELECT id, case_id FROM incident_reports WHERE reporter = $1", user); err != nil {
		return 0, 0, err
	}
	hold := map[string]bool{}
	for _, c := range keepCases {
		hold[c] = true
	}
	for _, r := range ids {
		if hold[r.Case] {
			kept++
			continue
		}
		if _, err := tx.ExecContext(ctx, "UPDATE incident_reports SET reporter = $1, description = '', evidence = '[]' WHERE id = $2", pseudonym, r.ID); err != nil {
			return 0, 0, err
		}
		pseudonymised++
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM incident_reporters WHERE reporter = $1", user); err != nil {
		return 0, 0, err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM incident_contacts WHERE user_id = $1", user); err != nil {
		return 0, 0, err
	}
	return pseudonymised, kept, tx.Commit()
}

// EraseUserNotices deletes the user's inbox and its deliveries.
func (db *DB) EraseUserNotices(ctx context.Context, user string) (int64, error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "DELETE FROM incident_deliveries WHERE notification IN (SELECT id FROM incident_notifications WHERE user_id = $1)", user); err != nil {
		return 0, err
	}
	res, err := tx.ExecContext(ctx, "DELETE FROM incident_notifications WHERE user_id = $1", user)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return n, tx.Commit()
}

// EraseUserConsent deletes the user's consent decisions and receipts.
func (db *DB) EraseUserConsent(ctx context.Context, user string) (int64, error) {
	res, err := db.ExecContext(ctx, "DELETE FROM consent_decisions WHERE user_id = $1", user)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// EraseUserMFA deletes the user's TOTP enrolment and recovery codes.
func (db *DB) EraseUserMFA(ctx context.Context, user string) (int64, error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, "DELETE FROM mfa_totp WHERE user_id = $1", user)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	res, err = tx.ExecContext(ctx, "DELETE FROM mfa_recovery_codes WHERE user_id = $1", user)
	if err != nil {
		return 0, err
	}
	m, _ := res.RowsAffected()
	return n + m, tx.Commit()
}
