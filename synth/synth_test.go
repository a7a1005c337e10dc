package synth

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/wardenhq/warden"
)

func TestDeterministic(t *testing.T) {
	a, b := New(Config{Seed: 7}), New(Config{Seed: 7})
	c := New(Config{Seed: 8})
	differ := false
	for i := 0; i < 20000; i++ {
		ea, ta := a.Next()
		eb, tb := b.Next()
		ec, _ := c.Next()
		if !reflect.DeepEqual(ea, eb) || ta != tb {
			t.Fatalf("event %d differs between two generators with the same seed:\n%+v\n%+v", i, ea, eb)
		}
		if !reflect.DeepEqual(ea, ec) {
			differ = true
		}
	}
	if !differ {
		t.Fatal("seeds 7 and 8 produced the same events")
	}
}

func TestEventsAreValidOrderedAndLabelled(t *testing.T) {
	g := New(Config{Seed: 1, Every: 30 * time.Second})
	var last time.Time
	seen := map[string]int{}
	ids := map[string]bool{}
	for i := 0; i < 200000; i++ {
		ev, tr := g.Next()
		if ev.Time.Before(last) {
			t.Fatalf("event %d at %v is before the previous one at %v", i, ev.Time, last)
		}
		last = ev.Time
		if ids[ev.ID] {
			t.Fatalf("duplicate id %s", ev.ID)
		}
		ids[ev.ID] = true
		if err := ev.Validate(""); err != nil {
			t.Fatalf("event %d is invalid: %v (%+v)", i, err, ev)
		}
		seen[tr.Campaign]++
		if tr.Campaign != "" {
			if !tr.Bot {
				t.Fatalf("campaign event without Bot: %+v", tr)
			}
			if acc := g.Account(ev.Actor); acc.Campaign != tr.Campaign {
				t.Fatalf("actor %s of a %s event reports account truth %+v", ev.Actor, tr.Campaign, acc)
			}
		}
	}
	for _, k := range Campaigns {
		if seen[k] == 0 {
			t.Errorf("campaign %s never appeared; seen %v", k, seen)
		}
	}
	if share := float64(seen[""]) / 200000; share < 0.5 || share > 0.99 {
		t.Errorf("organic share %.3f is implausible", share)
	}
}

func TestKindsRestrictCampaigns(t *testing.T) {
	g := New(Config{Seed: 3, Every: 20 * time.Second, Kinds: []string{CredentialStuffing}})
	n := 0
	for i := 0; i < 50000; i++ {
		ev, tr := g.Next()
		if tr.Campaign != "" && tr.Campaign != CredentialStuffing {
			t.Fatalf("unexpected campaign %s", tr.Campaign)
		}
		if tr.Campaign == CredentialStuffing {
			n++
			if ev.Type != warden.EventLoginFailed && ev.Type != warden.EventLogin {
				t.Fatalf("credential stuffing produced a %s event", ev.Type)
			}
		}
	}
	if n == 0 {
		t.Fatal("no credential stuffing events")
	}
	if g := New(Config{Seed: 3, Every: -1}); true {
		for i := 0; i < 20000; i++ {
			if _, tr := g.Next(); tr.Campaign != "" {
				t.Fatal("negative Every still injected a campaign")
			}
		}
	}
}

func TestPaceRewritesTimesAndStops(t *testing.T) {
	g := New(Config{Seed: 2})
	n := 0
	start := time.Now()
	stop := errors.New("enough")
	err := Pace(context.Background(), g, 1e6, func(ev warden.Event, _ Truth) error {
		if ev.Time.Before(start.Add(-time.Second)) {
			t.Fatalf("event time %v is not wall-clock time", ev.Time)
		}
		n++
		if n == 100 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 100 {
		t.Fatalf("Pace returned %v after %d events", err, n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Pace(ctx, New(Config{Seed: 2}), 1, func(warden.Event, Truth) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("Pace with a cancelled context returned %v", err)
	}
}

func BenchmarkNext(b *testing.B) {
	g := New(Config{Seed: 1})
	for b.Loop() {
		g.Next()
	}
}

func TestStopCampaignsDrains(t *testing.T) {
	g := New(Config{Seed: 4, Every: 10 * time.Second})
	for i := 0; i < 30000; i++ {
		g.Next()
	}
	if g.CampaignsInFlight() == 0 {
		t.Fatal("no campaign in flight after 30,000 events with one every 10s")
	}
	g.StopCampaigns()
	for i := 0; g.CampaignsInFlight() > 0; i++ {
		if i > 2_000_000 {
			t.Fatal("campaigns never finished")
		}
		g.Next()
	}
	for i := 0; i < 50000; i++ {
		if _, tr := g.Next(); tr.Campaign != "" {
			t.Fatal("a campaign event after StopCampaigns and the drain")
		}
	}
}

// TestCrowdSpread checks how long a lockstep crowd takes on one target: 5 to
// 20 s by default, up to CrowdSpread (and at least a quarter of it) when set.
func TestCrowdSpread(t *testing.T) {
	for _, tc := range []struct {
		spread   time.Duration
		min, max time.Duration
	}{
		{0, 5 * time.Second, 20 * time.Second},
		{2 * time.Minute, 30 * time.Second, 2 * time.Minute},
	} {
		evs, truths := Collect(Config{Seed: 4, Kinds: []string{Lockstep}, Every: time.Minute, Drops: -1, CrowdSpread: tc.spread}, 30*time.Minute)
		type key struct{ run, target string }
		first, last := map[key]time.Time{}, map[key]time.Time{}
		for i, ev := range evs {
			if truths[i].Campaign != Lockstep {
				continue
			}
			k := key{truths[i].RunKey(), ev.Target}
			if f, ok := first[k]; !ok || ev.Time.Before(f) {
				first[k] = ev.Time
			}
			if ev.Time.After(last[k]) {
				last[k] = ev.Time
			}
		}
		if len(first) < 20 {
			t.Fatalf("spread %v: only %d crowd targets", tc.spread, len(first))
		}
		var widest time.Duration
		for k, f := range first {
			d := last[k].Sub(f)
			if d > tc.max {
				t.Fatalf("spread %v: a crowd took %v on one target, more than %v", tc.spread, d, tc.max)
			}
			widest = max(widest, d)
		}
		// Members draw their times within the launch's spread, so the
		// widest target is close to the longest spread drawn.
		if widest < tc.min || widest < tc.max*3/4 {
			t.Errorf("spread %v: the widest crowd target took %v", tc.spread, widest)
		}
	}
}
