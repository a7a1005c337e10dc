package sqlstore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

// BenchmarkEventLogAppend measures the durable log alone: batches of 1,000
// records of realistic size, committed and fsynced.
func BenchmarkEventLogAppend(b *testing.B) {
	for _, backend := range []struct {
		name string
		open func(testing.TB) *sqlstore.DB
	}{{"sqlite", sqlstoretest.SQLite}, {"postgres", sqlstoretest.Postgres}} {
		b.Run(backend.name, func(b *testing.B) {
			log := sqlstore.NewEventLog(backend.open(b))
			defer log.Close()
			body := []byte(`{"id":"xxxxxxxxxxxx","type":"follow","time":"2026-11-22T10:00:00Z","actor":"user123","target":"user456","target_kind":"account","ip":"203.0.113.7","device":"dev99","country":"JP","attrs":{"age_days":3,"user_agent":"app/5.1 ios"}}`)
			verdict := []byte(`{"event_id":"xxxxxxxxxxxx","action":"allow","score":0.02,"hits":[]}`)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				recs := make([]sqlstore.EventRecord, 1000)
				for j := range recs {
					recs[j] = sqlstore.EventRecord{ID: fmt.Sprintf("e%d-%d", i, j), Type: "follow", Actor: fmt.Sprintf("user%d", j%700),
						Target: "user456", TimeUS: int64(i*1000 + j), ReceivedUS: 1, Body: body, Verdict: verdict}
				}
				if _, err := log.Append(context.Background(), recs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
