package sqlstore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

// BenchmarkEventLogAppend measures the durable log alone: batches of 1,000
// records of realistic size, committed and fsynced; with=quality has one
// record in ten carry a rule hit (counted per day and account in the same
// transaction) and one in a hundred an effect for the outbox, against none
// in the same run.
func BenchmarkEventLogAppend(b *testing.B) {
	for _, backend := range []struct {
		name string
		open func(testing.TB) *sqlstore.DB
	}{{"sqlite", sqlstoretest.SQLite}, {"postgres", sqlstoretest.Postgres}} {
		for _, with := range []string{"none", "quality"} {
			b.Run(backend.name+"/with="+with, func(b *testing.B) {
				log := sqlstore.NewEventLog(backend.open(b))
				defer log.Close()
				body := []byte(`{"id":"xxxxxxxxxxxx","type":"follow","time":"2026-11-22T10:00:00Z","actor":"user123","target":"user456","target_kind":"account","ip":"203.0.113.7","device":"dev99","country":"JP","attrs":{"age_days":3,"user_agent":"app/5.1 ios"}}`)
				verdict := []byte(`{"event_id":"xxxxxxxxxxxx","action":"allow","score":0.02,"hits":[]}`)
				hits := []sqlstore.RuleHit{{Rule: "follow_burst_new_account", Version: 3, Mode: warden.ModeEnforce}}
				effect := []warden.Delivery{{Kind: warden.EventEffect, Ref: "eff_x", Channel: warden.ChannelWebhook, Target: "https://platform.example/hook",
					Payload: `{"type":"effect","timestamp":"2026-11-22T10:00:00Z","data":{"id":"eff_x","account":"user123","action":"challenge","by":"rule"}}`,
					Status:  warden.DeliveryPending}}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					recs := make([]sqlstore.EventRecord, 1000)
					for j := range recs {
						recs[j] = sqlstore.EventRecord{ID: fmt.Sprintf("e%d-%d", i, j), Type: "follow", Actor: fmt.Sprintf("user%d", j%700),
							Target: "user456", TimeUS: int64(i*1000 + j), ReceivedUS: 1, Body: body, Verdict: verdict}
						if with == "quality" && j%10 == 0 {
							recs[j].Hits = hits
						}
						if with == "quality" && j%100 == 0 {
							recs[j].Outbox = effect
						}
					}
					if _, err := log.Append(context.Background(), recs); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "events/s")
			})
		}
	}
}
