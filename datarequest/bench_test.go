package datarequest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

// BenchmarkExport100k: the export of a done access request for a user
// with 100,000 events (with verdicts) on SQLite, built from the store and
// encoded as JSON. export_s is the target's figure (≤ 2 s); the floor, in
// the same run, is reading the same rows without building anything
// (read_s), and vs_read_floor the ratio.
func BenchmarkExport100k(b *testing.B) {
	db := sqlstoretest.SQLite(b)
	ctx := context.Background()
	const n = 100_000
	tx, err := db.Beginx()
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		at := t0.Add(time.Duration(i) * time.Second)
		body := fmt.Sprintf(`{"id":"e%d","type":"comment","time":%q,"actor":"heavy","target":"u%d","ip":"192.0.2.%d","text":"comment number %d with some words in it"}`, i, at.Format(time.RFC3339), i%500, i%250, i)
		verdict := fmt.Sprintf(`{"event_id":"e%d","action":"allow","score":0.07,"hits":[]}`, i)
		if _, err := tx.Exec("INSERT INTO events (id, type, actor, target, time_us, received_us, body, verdict) VALUES ($1, 'comment', 'heavy', $2, $3, $3, $4, $5)",
			fmt.Sprintf("e%d", i), fmt.Sprintf("u%d", i%500), at.UnixMicro(), body, verdict); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	s := New(Options{DB: db, Sources: StoreSources(db, nil)})
	r, err := s.Create(ctx, "heavy", KindAccess)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.Fulfil(ctx, r.ID, "bench"); err != nil {
		b.Fatal(err)
	}
	// The floor is read warm, as the export is: the second of two reads.
	var read float64
	for range 2 {
		start := time.Now()
		rows := 0
		if err := db.UserEvents(ctx, "heavy", func(sqlstore.EventRecord) error { rows++; return nil }); err != nil || rows != n {
			b.Fatal(rows, err)
		}
		read = time.Since(start).Seconds()
	}
	b.ResetTimer()
	var total time.Duration
	for range b.N {
		t := time.Now()
		doc, err := s.Export(ctx, r.ID)
		if err != nil {
			b.Fatal(err)
		}
		if err := json.NewEncoder(io.Discard).Encode(doc); err != nil {
			b.Fatal(err)
		}
		total += time.Since(t)
		if got := len(doc.Sections["events"].([]ExportedEvent)); got != n {
			b.Fatalf("%d events exported", got)
		}
	}
	per := total.Seconds() / float64(b.N)
	b.ReportMetric(per, "export_s")
	b.ReportMetric(read, "read_s")
	b.ReportMetric(per/read, "vs_read_floor")
}
