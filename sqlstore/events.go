package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"
	"github.com/wardenhq/warden"
)

// EventRecord is one accepted event as the log keeps it: its canonical JSON
// and the verdict Warden answered with, so that a repeated id gets the same
// answer and history can be replayed.
type EventRecord struct {
	Seq        int64
	ID         string
	Type       string
	Actor      string
	Target     string
	TimeUS     int64
	ReceivedUS int64
	Body       []byte
	Verdict    []byte
	// Hits are the verdict's rule hits that rule quality counts, and
	// Outbox the deliveries the event causes (its effects): both are
	// written in the event's transaction, and only if the event is new.
	Hits   []RuleHit
	Outbox []warden.Delivery
}

// AppendResult says what became of one record given to Append.
type AppendResult struct {
	// Duplicate is true when the log already had the id; Verdict is then
	// the verdict stored with the first copy.
	Duplicate bool
	Verdict   []byte
}

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("sqlstore: event log closed")

// EventLog is the durable, append-only event log. Append returns only after
// the records are committed (and, on SQLite with synchronous=FULL, fsynced),
// so an acknowledged event survives a crash. Concurrent Appends are merged
// into one transaction (group commit): one fsync serves many requests.
type EventLog struct {
	db       *DB
	reqs     chan *appendReq
	done     chan struct{}
	closeMu  sync.RWMutex
	closed   bool
	maxGroup int
	stmts    map[int]*sql.Stmt // prepared inserts by record count
	shard    int               // this log's rows of the day counts (rule_hit_days)
	// OnCommit, when set before the first Append, is called after each
	// group commit with the number of records and how long it took.
	OnCommit func(records int, took time.Duration)
}

type appendReq struct {
	recs []EventRecord
	res  []AppendResult
	err  error
	done chan struct{}
}

// NewEventLog starts the log's committer. Call Close to stop it.
func NewEventLog(db *DB) *EventLog {
	l := &EventLog{db: db, reqs: make(chan *appendReq, 256), done: make(chan struct{}), maxGroup: 20000, stmts: map[int]*sql.Stmt{},
		shard: rand.IntN(dayShards)}
	// The inserts for a full chunk and for small batches (what single-event
	// requests make) are prepared once, here, before any transaction holds
	// the writer connection: preparing costs more than inserting a few rows.
	for _, n := range []int{1, 2, 3, 4, 5, 6, 7, 8, insertChunk} {
		if st, err := db.Prepare(l.insertSQL(n)); err == nil {
			l.stmts[n] = st
		}
	}
	go l.run()
	return l
}

// Append durably appends recs in order and reports, per record, whether it was
// new or a duplicate of an id already in the log (or earlier in the same
// commit). On error nothing of recs is in the log.
func (l *EventLog) Append(ctx context.Context, recs []EventRecord) ([]AppendResult, error) {
	if len(recs) == 0 {
		return nil, nil
	}
	r := &appendReq{recs: recs, done: make(chan struct{})}
	l.closeMu.RLock()
	if l.closed {
		l.closeMu.RUnlock()
		return nil, ErrClosed
	}
	select {
	case l.reqs <- r:
	case <-ctx.Done():
		l.closeMu.RUnlock()
		return nil, ctx.Err()
	}
	l.closeMu.RUnlock()
	// Once queued the request is committed or failed whatever the caller's
	// context says: waiting here keeps "2xx means durable" true.
	<-r.done
	return r.res, r.err
}

// Close waits for queued appends to commit and stops the committer.
func (l *EventLog) Close() {
	l.closeMu.Lock()
	if !l.closed {
		l.closed = true
		close(l.reqs)
	}
	l.closeMu.Unlock()
	<-l.done
}

func (l *EventLog) run() {
	defer close(l.done)
	defer func() {
		for _, st := range l.stmts {
			st.Close()
		}
	}()
	for r := range l.reqs {
		group := []*appendReq{r}
		n := len(r.recs)
	fill:
		for n < l.maxGroup {
			select {
			case more, ok := <-l.reqs:
				if !ok {
					break fill
				}
				group = append(group, more)
				n += len(more.recs)
			default:
				break fill
			}
		}
		start := time.Now()
		var err error
		if l.db.Dialect == Postgres && n >= copyMin {
			err = l.commitCopy(group)
		} else {
			err = l.commit(group, false)
		}
		if errors.Is(err, errLogged) {
			// Some id was logged already: redo the group row by row,
			// which tells which ones.
			err = l.commit(group, true)
		}
		if err != nil {
			l.db.Logger.Error("event log commit failed", "records", n, "err", err)
		} else if l.OnCommit != nil {
			l.OnCommit(n, time.Since(start))
		}
		for _, g := range group {
			if err != nil {
				g.res, g.err = nil, err
			}
			close(g.done)
		}
	}
}

const eventCols = 8

// insertChunk bounds the rows of one INSERT statement (SQLite allows 32,766
// parameters, PostgreSQL 65,535).
const insertChunk = 500

// exec runs the insert for n records in tx, with a statement prepared by
// NewEventLog when there is one for n.
func (l *EventLog) exec(ctx context.Context, tx *sqlx.Tx, n int, args []any) (sql.Result, error) {
	if st := l.stmts[n]; st != nil {
		return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, l.insertSQL(n), args...)
}

// errLogged, and the caller runs it again rowByRow to learn which ids were
// already logged.
// errLogged says a multi-row insert met ids already in the log.
var errLogged = errors.New("sqlstore: some events were logged already")

// commit writes group in one transaction. Nearly always every record is
// new (ingest filters repeats before the engine sees them), so it inserts in
// chunks and checks only the row count; when that falls short it returns
// errLogged, and the caller runs it again rowByRow to learn which ids were
// already logged.
func (l *EventLog) commit(group []*appendReq, rowByRow bool) error {
	ctx := context.Background()
	tx, err := l.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()

	// first maps each id to the answer of its first copy in this commit;
	// later copies are marked and answered after the commit.
	first := make(map[string]*AppendResult)
	inserted := make(map[string]bool)
	var chunk []*EventRecord
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		args := make([]any, 0, len(chunk)*eventCols)
		for _, rec := range chunk {
			args = append(args, rec.ID, rec.Type, rec.Actor, rec.Target, rec.TimeUS, rec.ReceivedUS, string(rec.Body), string(rec.Verdict))
		}
		if rowByRow {
			for i, rec := range chunk {
				r, err := l.exec(ctx, tx, 1, args[i*eventCols:(i+1)*eventCols])
				if err != nil {
					return fmt.Errorf("insert event: %w", err)
				}
				if k, err := r.RowsAffected(); err != nil {
					return err
				} else if k == 1 {
					inserted[rec.ID] = true
				}
			}
		} else {
			res, err := l.exec(ctx, tx, len(chunk), args)
			if err != nil {
				return fmt.Errorf("insert events: %w", err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if int(n) < len(chunk) {
				return errLogged
			}
			for _, rec := range chunk {
				inserted[rec.ID] = true
			}
		}
		chunk = chunk[:0]
		return nil
	}
	for _, g := range group {
		g.res = make([]AppendResult, len(g.recs))
		for i := range g.recs {
			rec := &g.recs[i]
			if _, ok := first[rec.ID]; ok {
				g.res[i].Duplicate = true
				continue
			}
			first[rec.ID] = &g.res[i]
			g.res[i].Verdict = rec.Verdict
			if chunk = append(chunk, rec); len(chunk) == insertChunk {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	// Ids that were not inserted were already in the log: answer with the
	// verdict stored there.
	var existing []string
	for id := range first {
		if !inserted[id] {
			existing = append(existing, id)
		}
	}
	stored, err := verdictsByID(ctx, tx, existing)
	if err != nil {
		return err
	}
	for _, id := range existing {
		*first[id] = AppendResult{Duplicate: true, Verdict: stored[id]}
	}
	var fresh []*EventRecord
	for _, g := range group {
		for i := range g.recs {
			if rec := &g.recs[i]; inserted[rec.ID] && first[rec.ID] == &g.res[i] {
				fresh = append(fresh, rec)
			}
		}
	}
	if err := writeSide(ctx, sqlxExec(tx, l.db.Dialect), l.shard, fresh); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	for _, g := range group {
		for i := range g.recs {
			if g.res[i].Duplicate && g.res[i].Verdict == nil {
				g.res[i].Verdict = first[g.recs[i].ID].Verdict
			}
		}
	}
	return nil
}

// copyMin is the smallest group PostgreSQL takes by COPY: below it the
// prepared multi-row insert costs less than the temporary table's round
// trips.
const copyMin = 64

// commitCopy writes group on PostgreSQL through COPY: the records go into a
// temporary table (one per connection, emptied on commit) in the COPY
// protocol, which PostgreSQL parses far faster than a 4,000-parameter
// INSERT, then into events in arrival order. Like commit, it returns
// errLogged when some id was logged already, and the caller redoes the
// group row by row.
func (l *EventLog) commitCopy(group []*appendReq) error {
	ctx := context.Background()
	conn, err := l.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("sqlstore: COPY needs a pgx connection, not %T", dc)
		}
		tx, err := sc.Conn().Begin(ctx)
		if err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		defer tx.Rollback(ctx)
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS events_in (ord INTEGER, id TEXT, type TEXT, actor TEXT, target TEXT,
			time_us BIGINT, received_us BIGINT, body TEXT, verdict TEXT) ON COMMIT DELETE ROWS`); err != nil {
			return fmt.Errorf("temporary table: %w", err)
		}
		first := make(map[string]*AppendResult)
		var rows [][]any
		for _, g := range group {
			g.res = make([]AppendResult, len(g.recs))
			for i := range g.recs {
				rec := &g.recs[i]
				if _, dup := first[rec.ID]; dup {
					g.res[i].Duplicate = true
					continue
				}
				first[rec.ID] = &g.res[i]
				g.res[i].Verdict = rec.Verdict
				rows = append(rows, []any{len(rows), rec.ID, rec.Type, rec.Actor, rec.Target, rec.TimeUS, rec.ReceivedUS, string(rec.Body), string(rec.Verdict)})
			}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"events_in"},
			[]string{"ord", "id", "type", "actor", "target", "time_us", "received_us", "body", "verdict"}, pgx.CopyFromRows(rows)); err != nil {
			return fmt.Errorf("copy events: %w", err)
		}
		tag, err := tx.Exec(ctx, `INSERT INTO events (id, type, actor, target, time_us, received_us, body, verdict)
			SELECT id, type, actor, target, time_us, received_us, body, verdict FROM events_in ORDER BY ord ON CONFLICT (id) DO NOTHING`)
		if err != nil {
			return fmt.Errorf("insert events: %w", err)
		}
		if int(tag.RowsAffected()) < len(rows) {
			return errLogged
		}
		var fresh []*EventRecord
		for _, g := range group {
			for i := range g.recs {
				if !g.res[i].Duplicate {
					fresh = append(fresh, &g.recs[i])
				}
			}
		}
		if err := writeSide(ctx, func(ctx context.Context, q string, args ...any) error {
			_, err := tx.Exec(ctx, q, args...)
			return err
		}, l.shard, fresh); err != nil {
			return err
		}
		if err := tx.Commit(ctx); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		for _, g := range group {
			for i := range g.recs {
				if g.res[i].Duplicate {
					g.res[i].Verdict = first[g.recs[i].ID].Verdict
				}
			}
		}
		return nil
	})
}

// insertSQL is the multi-row insert for n records. On SQLite it uses
// anonymous ? placeholders: SQLite resolves each $N through a linear list,
// which makes parsing and binding a 4,000-parameter statement quadratic and
// cost more than the insert itself.
func (l *EventLog) insertSQL(n int) string {
	rows := valueRows(n, eventCols)
	if l.db.Dialect == SQLite {
		rows = anonymous(rows)
	}
	return "INSERT INTO events (id, type, actor, target, time_us, received_us, body, verdict) VALUES " +
		rows + " ON CONFLICT (id) DO NOTHING"
}

// anonymous turns "($1,$2),($3,$4)" into "(?,?),(?,?)"; valid only for
// placeholders numbered in order of appearance, as valueRows makes them.
func anonymous(q string) string {
	var sb strings.Builder
	sb.Grow(len(q))
	for i := 0; i < len(q); i++ {
		if q[i] == '$' {
			sb.WriteByte('?')
			for i+1 < len(q) && q[i+1] >= '0' && q[i+1] <= '9' {
				i++
			}
			continue
		}
		sb.WriteByte(q[i])
	}
	return sb.String()
}

// valueRows returns "($1,$2),($3,$4)…" for rows of cols placeholders.
func valueRows(rows, cols int) string {
	var sb strings.Builder
	n := 1
	for r := 0; r < rows; r++ {
		if r > 0 {
			sb.WriteByte(',')
		}
		sb.WriteByte('(')
		for c := 0; c < cols; c++ {
			if c > 0 {
				sb.WriteByte(',')
			}
			sb.WriteByte('$')
			sb.WriteString(strconv.Itoa(n))
			n++
		}
		sb.WriteByte(')')
	}
	return sb.String()
}

// placeholders returns "$1,$2,…,$n".
func placeholders(n int) string {
	return strings.TrimSuffix(strings.TrimPrefix(valueRows(1, n), "("), ")")
}

type queryContexter interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// verdictsByID returns the stored verdicts of the ids that are in the log.
func verdictsByID(ctx context.Context, q queryContexter, ids []string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(ids))
	for len(ids) > 0 {
		n := min(len(ids), insertChunk)
		args := make([]any, n)
		for i, id := range ids[:n] {
			args[i] = id
		}
		rows, err := q.QueryContext(ctx, "SELECT id, verdict FROM events WHERE id IN ("+placeholders(n)+")", args...)
		if err != nil {
			return nil, fmt.Errorf("look up events: %w", err)
		}
		for rows.Next() {
			var id, v string
			if err := rows.Scan(&id, &v); err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = []byte(v)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		ids = ids[n:]
	}
	return out, nil
}

// LoggedEvent is what the log holds of an event: its body (the event as
// JSON), its verdict, and when it was received (ReceivedUS as appended).
type LoggedEvent struct {
	Body, Verdict []byte
	ReceivedUS    int64
}

// Logged returns the body and verdict of those ids that are in the log.
func (l *EventLog) Logged(ctx context.Context, ids []string) (map[string]LoggedEvent, error) {
	out := make(map[string]LoggedEvent, len(ids))
	for len(ids) > 0 {
		n := min(len(ids), insertChunk)
		args := make([]any, n)
		for i, id := range ids[:n] {
			args[i] = id
		}
		rows, err := l.db.Reader.QueryContext(ctx, "SELECT id, body, verdict, received_us FROM events WHERE id IN ("+placeholders(n)+")", args...)
		if err != nil {
			return nil, fmt.Errorf("look up events: %w", err)
		}
		for rows.Next() {
			var id string
			var body, v []byte
			var recv int64
			if err := rows.Scan(&id, &body, &v, &recv); err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = LoggedEvent{Body: body, Verdict: v, ReceivedUS: recv}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		ids = ids[n:]
	}
	return out, nil
}

// EachID calls fn with every event id in the log, for warming an in-memory
// index at start.
func (l *EventLog) EachID(ctx context.Context, fn func(id string)) error {
	rows, err := l.db.Reader.QueryContext(ctx, "SELECT id FROM events")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return err
		}
		fn(id)
	}
	return rows.Err()
}

// ExportFilter selects events by event time; zero bounds are open.
type ExportFilter struct {
	From, To time.Time
	AfterSeq int64
	Limit    int
}

// Export calls fn for each logged event matching f, in arrival order.
func (l *EventLog) Export(ctx context.Context, f ExportFilter, fn func(EventRecord) error) error {
	q := "SELECT seq, id, type, actor, target, time_us, received_us, body, verdict FROM events WHERE seq > $1"
	args := []any{f.AfterSeq}
	if !f.From.IsZero() {
		args = append(args, f.From.UnixMicro())
		q += fmt.Sprintf(" AND time_us >= $%d", len(args))
	}
	if !f.To.IsZero() {
		args = append(args, f.To.UnixMicro())
		q += fmt.Sprintf(" AND time_us < $%d", len(args))
	}
	q += " ORDER BY seq"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := l.db.Reader.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("export events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r EventRecord
		var body, verdict string
		if err := rows.Scan(&r.Seq, &r.ID, &r.Type, &r.Actor, &r.Target, &r.TimeUS, &r.ReceivedUS, &body, &verdict); err != nil {
			return err
		}
		r.Body, r.Verdict = []byte(body), []byte(verdict)
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Count returns how many events the log holds.
func (l *EventLog) Count(ctx context.Context) (int64, error) {
	var n int64
	err := l.db.Reader.QueryRowContext(ctx, "SELECT COUNT(*) FROM events").Scan(&n)
	return n, err
}

// LastSeq returns the position of the newest logged event, 0 for an empty
// log. Positions increase in commit order.
func (l *EventLog) LastSeq(ctx context.Context) (int64, error) {
	var n int64
	err := l.db.Reader.QueryRowContext(ctx, "SELECT COALESCE(MAX(seq), 0) FROM events").Scan(&n)
	return n, err
}
