package sqlstore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

// An event's hits and effects are written with it, once: a group large
// enough for PostgreSQL's COPY path, then the same ids again (with a new
// one among them), which adds only the new event's; a second log's counts
// add up with the first's.
func TestEventLogCountsHitsAndQueuesEffectsOnce(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		l := sqlstore.NewEventLog(db)
		defer l.Close()
		const day = 86_400_000_000
		hit := sqlstore.RuleHit{Rule: "r", Version: 2, Mode: warden.ModeEnforce}
		batch := func(ids ...int) []sqlstore.EventRecord {
			var recs []sqlstore.EventRecord
			for _, i := range ids {
				r := rec(fmt.Sprintf("e%d", i))
				r.Actor, r.TimeUS = fmt.Sprintf("a%d", i%10), int64(20000+i%2)*day+int64(i)
				if i%4 == 0 {
					r.Hits = []sqlstore.RuleHit{hit}
					r.Outbox = []warden.Delivery{{Kind: warden.EventEffect, Ref: "eff_" + r.ID, Channel: warden.ChannelWebhook,
						Target: "http://x", Payload: "{}", Status: warden.DeliveryPending}}
				}
				recs = append(recs, r)
			}
			return recs
		}
		var ids []int
		for i := range 100 {
			ids = append(ids, i)
		}
		for _, b := range [][]int{ids, append(ids[:50:50], 100)} {
			if _, err := l.Append(ctx, batch(b...)); err != nil {
				t.Fatal(err)
			}
		}
		// Another process's log (its own shard of the day counts), on day 20001.
		other := sqlstore.NewEventLog(db)
		if _, err := other.Append(ctx, batch(101, 103, 105)); err != nil {
			t.Fatal(err)
		}
		other.Close()
		days, err := db.RuleHitDays(ctx, 0, "")
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		for _, d := range days {
			got[fmt.Sprintf("%s/%d", d.Rule, d.Day)] = d.Hits
		}
		// 104 events over two days, 51 and 53; hits on i%4 == 0, all on even days: 26.
		want := map[string]int64{"/20000": 51, "/20001": 53, "r/20000": 26}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("day counts = %v, want %v", got, want)
		}
		var accounts, hits int64
		if err := db.RuleHitAccounts(ctx, 0, "r", func(h sqlstore.HitAccount) error {
			accounts++
			hits += h.Hits
			if h.First > h.Last {
				t.Errorf("%+v: first after last", h)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if accounts != 5 || hits != 26 { // a0, a2, a4, a6, a8
			t.Errorf("accounts = %d with %d hits, want 5 with 26", accounts, hits)
		}
		pending, _, err := db.OutboxDepth(ctx)
		if err != nil || pending != 26 {
			t.Errorf("effects queued = %d (%v), want 26", pending, err)
		}
	})
}
