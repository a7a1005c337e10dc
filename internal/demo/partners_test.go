package demo

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"sync"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/engine"
	"github.com/wardenhq/warden/partner"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

// The demo's partner feeds are imported through the partner service, and
// the partners' scammers signing up get the built-in partner rule's hit:
// blocked when the high-trust partner lists them, held to review when the
// low-trust one does.
func TestDemoPartnerFeedArrives(t *testing.T) {
	db := sqlstoretest.SQLite(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	group := bytes.Repeat([]byte("d"), partner.MinKeySize)
	ps, err := partner.New(ctx, partner.Config{GroupKey: group, SigningKey: ed25519.NewKeyFromSeed(make([]byte, 32)), Issuer: "demo", K: 3, Store: db})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.Open(engine.Options{Partners: ps.Lists()})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []warden.Verdict
	done := make(chan error, 1)
	go func() {
		done <- Partners(ctx, PartnerOptions{DB: db, Partners: ps, Group: group, Every: time.Millisecond,
			Ingest: func(ctx context.Context, evs []warden.Event) error {
				mu.Lock()
				defer mu.Unlock()
				for i := range evs {
					got = append(got, eng.Evaluate(ctx, &evs[i]))
				}
				if len(got) >= 5 {
					cancel()
				}
				return nil
			}})
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, v := range got[:5] {
		for _, h := range v.Hits {
			if h.Rule == "partner_listed_identity" && len(h.Partners) == 1 {
				counts[h.Partners[0]+" "+v.Action.String()]++
			}
		}
	}
	if counts["bigco.demo block"] != 3 || counts["smallco.demo review"] != 2 {
		t.Fatalf("partner hits of the demo signups: %v", counts)
	}
	if n := ps.Lists().Count("bigco.demo") + ps.Lists().Count("smallco.demo"); n != 5 {
		t.Fatalf("%d demo indicators listed", n)
	}
}
