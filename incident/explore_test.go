package incident

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

// The event view shows the logged event with its verdict and hits; the
// address view lists the accounts on the address first, then those on its
// /24, with their flagged events counted, and leaves other networks out.
func TestEventAndAddressViews(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		clk := newClock()
		at := clk.Now().Add(-time.Hour)
		evs := []warden.Event{
			{ID: "x1", Type: warden.EventMessage, Time: at, Actor: "scam1", Target: "v1", TargetKind: warden.TargetAccount, IP: "203.0.113.7", Device: "d1", Text: "send 200 EUR", Attrs: map[string]any{"email": "a@example.com"}},
			{ID: "x2", Type: warden.EventLogin, Time: at.Add(time.Minute), Actor: "scam1", IP: "203.0.113.7"},
			{ID: "x3", Type: warden.EventLogin, Time: at.Add(2 * time.Minute), Actor: "scam2", IP: "203.0.113.7"},
			{ID: "x4", Type: warden.EventLogin, Time: at.Add(3 * time.Minute), Actor: "near", IP: "203.0.113.200"},
			{ID: "x5", Type: warden.EventLogin, Time: at.Add(4 * time.Minute), Actor: "far", IP: "198.51.100.7"},
			{ID: "x6", Type: warden.EventLogin, Time: at.Add(5 * time.Minute), Actor: "v6", IP: "2001:db8:1:2::5"},
		}
		logEvents(t, db, evs, "x1")
		s := newTestService(t, db, clk, nil)
		ctx := context.Background()

		ev, err := s.EventView(ctx, "x1")
		if err != nil {
			t.Fatal(err)
		}
		if ev.Event.Text != "send 200 EUR" || ev.Verdict.Action != warden.ActionReview || len(ev.Verdict.Hits) != 1 ||
			ev.Verdict.Hits[0].Rule != "scam_link_burst" || ev.Network != "203.0.113.0/24" {
			t.Fatalf("event view %s", dump(ev))
		}
		if got := strings.Join(ev.LinksBy, ","); got != "device,ip,email" {
			t.Fatalf("links by %s", got)
		}
		_, err = s.EventView(ctx, "nope")
		wantCode(t, err, warden.ENOTFOUND)

		av, err := s.AddressView(ctx, "203.0.113.7")
		if err != nil {
			t.Fatal(err)
		}
		if av.Network != "203.0.113.0/24" || av.Scanned != len(evs) || len(av.Accounts) != 3 || len(av.Events) != 4 {
			t.Fatalf("address view %s", dump(av))
		}
		a := av.Accounts
		if a[0].Account != "scam1" || !a[0].Exact || a[0].Events != 2 || a[0].Flagged != 1 ||
			a[1].Account != "scam2" || !a[1].Exact || a[2].Account != "near" || a[2].Exact {
			t.Fatalf("accounts %s", dump(a))
		}
		if av.Events[0].EventID != "x4" || av.Events[0].Exact || !av.Events[1].Exact {
			t.Fatalf("events newest first, exact marked: %s", dump(av.Events))
		}
		v6, err := s.AddressView(ctx, "2001:db8:1:ffff::1")
		if err != nil || v6.Network != "2001:db8:1::/48" || len(v6.Accounts) != 1 || v6.Accounts[0].Account != "v6" || v6.Accounts[0].Exact {
			t.Fatalf("IPv6 network view %s, %v", dump(v6), err)
		}
		_, err = s.AddressView(ctx, "999999")
		wantCode(t, err, warden.EINVALID)
	})
}
