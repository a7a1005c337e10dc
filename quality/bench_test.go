package quality_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/quality"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

// BenchmarkReport computes the report of every rule over 30 days from a
// store holding 100,000 accounts hit by 5 rules of 2 versions each, 60 days
// of day counts, and 20,000 decisions on those accounts (a quarter of them
// "no violation"), on SQLite: what the API, the console page and, once a
// minute, the gauge cost.
func BenchmarkReport(b *testing.B) {
	db := benchStore(b)
	ctx := context.Background()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	q := quality.New(quality.Options{Store: db, Now: func() time.Time { return now }})
	b.ResetTimer()
	for range b.N {
		rep, err := q.Report(ctx, "", now.Add(-30*24*time.Hour))
		if err != nil || len(rep.Rules) != 5 {
			b.Fatalf("%v, %d rules", err, len(rep.Rules))
		}
	}
}

// benchStore is BenchmarkReport's store.
func benchStore(b *testing.B) *sqlstore.DB {
	db := sqlstoretest.SQLite(b)
	ctx := context.Background()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	l := sqlstore.NewEventLog(db)
	const accounts = 100_000
	var recs []sqlstore.EventRecord
	for i := range accounts {
		at := now.Add(-time.Duration(i%60) * 24 * time.Hour)
		h := sqlstore.RuleHit{Rule: fmt.Sprintf("rule_%d", i%5), Version: 1 + i%2, Mode: warden.ModeEnforce}
		recs = append(recs, sqlstore.EventRecord{ID: fmt.Sprintf("e%d", i), Type: "post", Actor: fmt.Sprintf("a%d", i), TimeUS: at.UnixMicro(),
			ReceivedUS: at.UnixMicro(), Body: []byte("{}"), Verdict: []byte("{}"), Hits: []sqlstore.RuleHit{h}})
		if len(recs) == 5000 {
			if _, err := l.Append(ctx, recs); err != nil {
				b.Fatal(err)
			}
			recs = recs[:0]
		}
	}
	l.Close()
	tx := db.MustBegin()
	for i := range 20_000 {
		action := warden.ActBanAccount
		if i%4 == 0 {
			action = warden.ActNoViolation
		}
		tx.MustExec(`INSERT INTO incident_decisions (id, case_id, subject_kind, subject_id, action, category, policy, explanation, source, decided_by, decided_us)
			VALUES ($1, $2, 'account', $3, $4, 'scam', 'Fraud', 'x', 'report', 'mod', $5)`, fmt.Sprintf("D%d", i), fmt.Sprintf("C%d", i), fmt.Sprintf("a%d", i*5), action, now.UnixMicro())
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	return db
}
