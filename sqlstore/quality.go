package sqlstore

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/wardenhq/warden"
)

// RuleHit is one hit of a rule version on an event, as rule quality counts
// it (rule_hit_days, rule_hit_accounts).
type RuleHit struct {
	Rule    string
	Version int
	Mode    string
}

// dayMicros is one day in microseconds: hit counts are kept per event-time
// day.
const dayMicros = 86_400_000_000

// execFunc runs one statement in a transaction: an sqlx one, or the pgx one
// of the event log's COPY path.
type execFunc func(ctx context.Context, q string, args ...any) error

// sqlxExec runs statements in tx; on SQLite with anonymous placeholders,
// as the log's own inserts (SQLite resolves each $N through a linear list,
// which makes a statement of a thousand parameters cost more than its
// rows).
func sqlxExec(tx *sqlx.Tx, dialect string) execFunc {
	return func(ctx context.Context, q string, args ...any) error {
		if dialect == SQLite {
			q = anonymous(q)
		}
		_, err := tx.ExecContext(ctx, q, args...)
		return err
	}
}

type hitDayKey struct {
	rule    string
	version int
	mode    string
	day     int64
}

type hitAccountKey struct {
	rule    string
	version int
	mode    string
	actor   string
}

type hitAccount struct{ first, last, hits int64 }

// dayShards is how many shards of the day counts there are.
const dayShards = 64

// sideRows bounds the rows of one upsert.
const sideRows = 200

// writeSide writes, in the event log's transaction, what the newly logged
// recs bring besides themselves: their hits, added to the day counts and the
// accounts each rule version hit, and their outbox deliveries.
func writeSide(ctx context.Context, exec execFunc, shard int, recs []*EventRecord) error {
	if len(recs) == 0 {
		return nil
	}
	days := map[hitDayKey]int64{}
	accounts := map[hitAccountKey]*hitAccount{}
	for _, rec := range recs {
		day := rec.TimeUS / dayMicros
		days[hitDayKey{day: day}]++
		for _, h := range rec.Hits {
			days[hitDayKey{h.Rule, h.Version, h.Mode, day}]++
			if rec.Actor == "" {
				continue
			}
			k := hitAccountKey{h.Rule, h.Version, h.Mode, rec.Actor}
			if a, ok := accounts[k]; ok {
				a.first, a.last, a.hits = min(a.first, rec.TimeUS), max(a.last, rec.TimeUS), a.hits+1
			} else {
				accounts[k] = &hitAccount{rec.TimeUS, rec.TimeUS, 1}
			}
		}
		for i := range rec.Outbox {
			if err := exec(ctx, insertDeliverySQL, deliveryArgs(&rec.Outbox[i])...); err != nil {
				return fmt.Errorf("queue the effects of event %q: %w", rec.ID, err)
			}
		}
	}
	var rows [][]any
	for k, n := range days {
		rows = append(rows, []any{k.rule, k.version, k.mode, k.day, shard, n})
	}
	if err := upsert(ctx, exec, `INSERT INTO rule_hit_days (rule, version, mode, day, shard, hits) VALUES `,
		` ON CONFLICT (rule, version, mode, day, shard) DO UPDATE SET hits = rule_hit_days.hits + excluded.hits`, 6, rows); err != nil {
		return fmt.Errorf("count rule hits: %w", err)
	}
	rows = rows[:0]
	for k, a := range accounts {
		rows = append(rows, []any{k.rule, k.version, k.mode, k.actor, a.first, a.last, a.hits})
	}
	if err := upsert(ctx, exec, `INSERT INTO rule_hit_accounts (rule, version, mode, actor, first_us, last_us, hits) VALUES `,
		` ON CONFLICT (rule, version, mode, actor) DO UPDATE SET
		first_us = CASE WHEN excluded.first_us < rule_hit_accounts.first_us THEN excluded.first_us ELSE rule_hit_accounts.first_us END,
		last_us = CASE WHEN excluded.last_us > rule_hit_accounts.last_us THEN excluded.last_us ELSE rule_hit_accounts.last_us END,
		hits = rule_hit_accounts.hits + excluded.hits`, 7, rows); err != nil {
		return fmt.Errorf("record the accounts rules hit: %w", err)
	}
	return nil
}

// upsert runs head + VALUES rows + tail in statements of at most sideRows
// rows. The rows' keys are distinct (PostgreSQL refuses a statement that
// updates one row twice).
func upsert(ctx context.Context, exec execFunc, head, tail string, cols int, rows [][]any) error {
	for len(rows) > 0 {
		n := min(len(rows), sideRows)
		args := make([]any, 0, n*cols)
		for _, r := range rows[:n] {
			args = append(args, r...)
		}
		if err := exec(ctx, head+valueRows(n, cols)+tail, args...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// insertDeliverySQL queues one outbox delivery; deliveryArgs are its
// arguments.
const insertDeliverySQL = `INSERT INTO incident_deliveries (kind, notification, channel, target, payload, status, attempts, next_us, created_us)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`

func deliveryArgs(d *warden.Delivery) []any {
	kind := d.Kind
	if kind == "" {
		kind = warden.DeliveryNotification
	}
	return []any{kind, d.Ref, d.Channel, d.Target, d.Payload, d.Status, d.Attempts, d.NextAt, d.CreatedAt}
}

// HitDay is the hits of one rule version in one mode on one event-time
// day; Rule "" is every event of the day.
type HitDay struct {
	Rule    string `db:"rule"`
	Version int    `db:"version"`
	Mode    string `db:"mode"`
	Day     int64  `db:"day"` // days since the Unix epoch, UTC
	Hits    int64  `db:"hits"`
}

// RuleHitDays returns the day counts from day from on (days since the Unix
// epoch), of rule only when rule is not "" (the event counts always come
// with them), ordered by rule, version, mode and day.
func (db *DB) RuleHitDays(ctx context.Context, from int64, rule string) ([]HitDay, error) {
	q := `SELECT rule, version, mode, day, SUM(hits) AS hits FROM rule_hit_days WHERE day >= $1`
	args := []any{from}
	if rule != "" {
		q += ` AND (rule = $2 OR rule = '')`
		args = append(args, rule)
	}
	var out []HitDay
	err := db.Reader.SelectContext(ctx, &out, q+` GROUP BY rule, version, mode, day ORDER BY rule, version, mode, day`, args...)
	return out, err
}

// HitAccount is an account a rule version hit in one mode, first and last
// by event time.
type HitAccount struct {
	Rule    string        `db:"rule"`
	Version int           `db:"version"`
	Mode    string        `db:"mode"`
	Actor   string        `db:"actor"`
	First   warden.Micros `db:"first_us"`
	Last    warden.Micros `db:"last_us"`
	Hits    int64         `db:"hits"`
}

// RuleHitAccounts calls fn with every account a rule version hit last at
// or after since (of rule only, when it is not "").
func (db *DB) RuleHitAccounts(ctx context.Context, since warden.Micros, rule string, fn func(HitAccount) error) error {
	q := `SELECT rule, version, mode, actor, first_us, last_us, hits FROM rule_hit_accounts WHERE last_us >= $1`
	args := []any{since}
	if rule != "" {
		q += ` AND rule = $2`
		args = append(args, rule)
	}
	rows, err := db.Reader.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var h HitAccount
		if err := rows.Scan(&h.Rule, &h.Version, &h.Mode, &h.Actor, &h.First, &h.Last, &h.Hits); err != nil {
			return err
		}
		if err := fn(h); err != nil {
			return err
		}
	}
	return rows.Err()
}

// AccountJudgement is a decision on an account, as rule quality reads it:
// what was decided, whether a machine decided it, whether an appeal
// reversed it, and whether an appeal upheld it.
type AccountJudgement struct {
	Account   string        `db:"subject_id"`
	DecidedAt warden.Micros `db:"decided_us"`
	Action    string        `db:"action"`
	Automated bool          `db:"automated"`
	Reversed  bool          `db:"reversed"`
	Upheld    bool          `db:"upheld"`
}

// AccountJudgements returns every decision on an account subject, oldest
// first.
func (db *DB) AccountJudgements(ctx context.Context) ([]AccountJudgement, error) {
	var out []AccountJudgement
	err := db.Reader.SelectContext(ctx, &out, `SELECT d.subject_id, d.decided_us, d.action, d.automated,
		d.reversed_us <> 0 AS reversed,
		EXISTS (SELECT 1 FROM incident_appeals a WHERE a.decision_id = d.id AND a.status = $1) AS upheld
		FROM incident_decisions d WHERE d.subject_kind = $2 ORDER BY d.decided_us, d.id`, warden.AppealUpheld, warden.TargetAccount)
	return out, err
}

// ActiveSpans returns, for those of accounts that have events, the event
// time of their first and last event.
func (db *DB) ActiveSpans(ctx context.Context, accounts []string) (map[string][2]warden.Micros, error) {
	out := make(map[string][2]warden.Micros, len(accounts))
	for len(accounts) > 0 {
		n := min(len(accounts), insertChunk)
		args := make([]any, n)
		for i, a := range accounts[:n] {
			args[i] = a
		}
		rows, err := db.Reader.QueryContext(ctx, "SELECT actor, MIN(time_us), MAX(time_us) FROM events WHERE actor IN ("+placeholders(n)+") GROUP BY actor", args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var a string
			var lo, hi warden.Micros
			if err := rows.Scan(&a, &lo, &hi); err != nil {
				rows.Close()
				return nil, err
			}
			out[a] = [2]warden.Micros{lo, hi}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		accounts = accounts[n:]
	}
	return out, nil
}
