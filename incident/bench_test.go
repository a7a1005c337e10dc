package incident

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

// BenchmarkIntake files reports in-process from 32 goroutines (no HTTP),
// on 2,000 subjects, each durable with its receipt before Report returns.
func BenchmarkIntake(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchIntake(b, sqlstoretest.SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { benchIntake(b, sqlstoretest.Postgres(b)) })
}

var benchSeq atomic.Int64

func benchIntake(b *testing.B, db *sqlstore.DB) {
	s, err := New(context.Background(), Options{DB: db})
	if err != nil {
		b.Fatal(err)
	}
	run := benchSeq.Add(1)
	var n atomic.Int64
	b.SetParallelism(16) // 16 × GOMAXPROCS callers
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			req := report(fmt.Sprintf("b%d-u%d", run, i), warden.TargetAccount, fmt.Sprintf("b%d-s%d", run, i%2000), warden.CategoryScam)
			if _, _, err := s.Report(context.Background(), app, req, ""); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reports/s")
	if batches, reports := s.IntakeStats(); batches > 0 {
		b.ReportMetric(float64(reports)/float64(batches), "reports/commit")
	}
}

// BenchmarkQueueView measures the moderator queue (50 most urgent open
// cases overall, per queue, and the about-to-breach view) over a store
// holding WARDEN_BENCH_CASES cases (default 100,000; the target is
// 1,000,000 on PostgreSQL), 10% of them open, the others closed over the
// year before (one every 30 s). It reports the p99 latency of a page and the
// median of the counts the console's tabs show.
func BenchmarkQueueView(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("WARDEN_BENCH_CASES")); err == nil && v > 0 {
		n = v
	}
	b.Run("postgres", func(b *testing.B) { benchQueue(b, sqlstoretest.Postgres(b), n) })
	b.Run("sqlite", func(b *testing.B) { benchQueue(b, sqlstoretest.SQLite(b), n) })
}

func benchQueue(b *testing.B, db *sqlstore.DB, n int) {
	ctx := context.Background()
	now := time.Now().UnixMicro()
	// Generated in SQL: inserting a million rows through the service would
	// take longer than the benchmark is worth. Every tenth case is open;
	// queues, priorities and deadlines are spread out.
	series := "generate_series(1, $1) AS g(x)"
	prefix := ""
	if db.Dialect == sqlstore.SQLite {
		prefix = "WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < $1) "
		series = "g"
	}
	q := prefix + `INSERT INTO incident_cases (id, subject_kind, subject_id, owner, status, queue, category, priority, trusted, automated, reports, reach, detections, opened_us, due_us, assignee, assigned_us, closed_us, decision_id)
		SELECT 'C-' || x, 'account', 's' || x, 's' || x,
			CASE WHEN x % 10 = 0 THEN 'open' ELSE 'closed' END,
			CASE (x / 10) % 4 WHEN 0 THEN 'trusted_flagger' WHEN 1 THEN 'scams' WHEN 2 THEN 'safety' ELSE 'general' END,
			'scam', (CAST(x AS BIGINT) * 7919) % 200, FALSE, FALSE, 1, 0, 0,
			CAST($2 AS BIGINT) - CAST(x AS BIGINT) * 1000, CAST($2 AS BIGINT) + CAST(x % 1000 AS BIGINT) * 60000000, '', 0,
			CASE WHEN x % 10 = 0 THEN 0 ELSE CAST($2 AS BIGINT) - CAST(x AS BIGINT) * 30000000 END, ''
		FROM ` + series
	start := time.Now()
	if _, err := db.ExecContext(ctx, q, n, now); err != nil {
		b.Fatal(err)
	}
	if db.Dialect == sqlstore.Postgres {
		db.ExecContext(ctx, "VACUUM ANALYZE incident_cases") // as autovacuum would have by then
	}
	b.Logf("seeded %d cases in %v", n, time.Since(start).Round(time.Millisecond))
	s, err := New(ctx, Options{DB: db})
	if err != nil {
		b.Fatal(err)
	}
	// A moderator's listings, each a page of 50: the default queue, two
	// queues, the about-to-breach view, the closed history, a search by
	// subject, nobody's cases in one category, and the fifth page of the
	// queue by cursor.
	cursors := map[string]string{}
	deep := func(f CaseList, pages int) CaseList {
		key := fmt.Sprintf("%+v", f)
		if c, ok := cursors[key]; ok {
			f.Cursor = c
			return f
		}
		for i := 0; i < pages; i++ {
			p, err := s.Cases(ctx, f)
			if err != nil || p.NextCursor == "" {
				b.Fatalf("page %d of %+v: %v", i, f, err)
			}
			f.Cursor = p.NextCursor
		}
		cursors[key] = f.Cursor
		return f
	}
	views := []CaseList{{Limit: 50}, {Queue: "scams", Limit: 50}, {Queue: "trusted_flagger", Limit: 50}, {DueWithin: time.Hour, Limit: 50},
		{Status: warden.CaseClosed, Limit: 50}, {Status: warden.CaseClosed, Queue: "safety", Limit: 50}, {Subject: "s" + strconv.Itoa(n/2), Limit: 50},
		{Assignee: "none", Category: warden.CategoryScam, Limit: 50}, deep(CaseList{Limit: 50}, 4), deep(CaseList{Status: warden.CaseClosed, Limit: 50}, 4)}
	lat := make([]time.Duration, 0, b.N)
	var countLat []time.Duration
	worst := make([]time.Duration, len(views))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		cs, err := s.Cases(ctx, views[i%len(views)])
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
		worst[i%len(views)] = max(worst[i%len(views)], lat[len(lat)-1])
		if len(cs.Cases) == 0 {
			b.Fatalf("view %+v is empty", views[i%len(views)])
		}
		if i%len(views) == 0 {
			t0 = time.Now()
			if _, err := s.CaseCounts(ctx); err != nil {
				b.Fatal(err)
			}
			countLat = append(countLat, time.Since(t0))
		}
	}
	b.StopTimer()
	for i, v := range views {
		v.Cursor = v.Cursor[:min(len(v.Cursor), 8)]
		if b.N > 1 {
			fmt.Fprintf(os.Stderr, "slowest %8v  %+v\n", worst[i].Round(time.Microsecond), v)
		}
	}
	slices.Sort(lat)
	slices.Sort(countLat)
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(countLat[len(countLat)/2].Microseconds())/1000, "counts-p50-ms")
}
