package cluster

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/synth"
)

// placement is what partitioning by actor does to detection on one
// workload: per campaign kind, the share of its accounts flagged (any
// non-allow verdict); per rule, its hits.
type placement struct {
	recall  map[string][2]int // campaign → accounts, flagged
	fpr     [2]int            // ordinary accounts, flagged
	hits    map[string]int    // rule → hits (any mode)
	verdict []string          // each event's verdict, as JSON
}

func measurePlacement(t *testing.T, evs []warden.Event, truths []synth.Truth, g *synth.Generator, p int) placement {
	t.Helper()
	vs := partitionedVerdicts(t, evs, p)
	pl := placement{recall: map[string][2]int{}, hits: map[string]int{}}
	type acct struct {
		campaign string
		flagged  bool
	}
	accts := map[string]*acct{}
	for i, ev := range evs {
		a := accts[ev.Actor]
		if a == nil {
			a = &acct{campaign: g.Account(ev.Actor).Campaign}
			accts[ev.Actor] = a
		}
		v := vs[i]
		if (truths[i].Campaign != "") == (a.campaign != "") && v.Action != warden.ActionAllow {
			a.flagged = true
		}
		for _, h := range v.Hits {
			pl.hits[h.Rule]++
		}
		pl.verdict = append(pl.verdict, string(mustJSON(v)))
	}
	for _, a := range accts {
		if a.campaign == "" {
			pl.fpr[0]++
			if a.flagged {
				pl.fpr[1]++
			}
			continue
		}
		c := pl.recall[a.campaign]
		c[0]++
		if a.flagged {
			c[1]++
		}
		pl.recall[a.campaign] = c
	}
	return pl
}

// TestPlacementOfCrossActorSignals checks, on the reference workload,
// that routing by actor costs the signals that look across actors nothing:
// the detectors (lockstep, linked accounts, near-duplicate text) and the
// counters keyed by something other than the actor (an IP, a /24, a
// device, a target, a text) run in the crowd stage, which sees every
// event, so each verdict at P partitions is one node's. It logs recall per
// campaign kind, for P=1 (one node) and P=8 (WARDEN_PLACEMENT=8,64 for
// more), and any rule whose hits change.
func TestPlacementOfCrossActorSignals(t *testing.T) {
	cfg := synth.Config{Seed: 5, Accounts: 3000, Rate: 100, Every: 30 * time.Second}
	evs, truths := synth.Collect(cfg, 6*time.Minute)
	if len(evs) > 60000 {
		evs, truths = evs[:60000], truths[:60000]
	}
	g := synth.New(cfg)
	for range evs { // the generator's account table, as Collect left it
		g.Next()
	}
	ps := []int{8}
	if s := os.Getenv("WARDEN_PLACEMENT"); s != "" {
		ps = nil
		for _, f := range strings.Split(s, ",") {
			var p int
			fmt.Sscan(f, &p)
			ps = append(ps, p)
		}
	}
	ref := measurePlacement(t, evs, truths, g, 1)
	// One partition is one node's engine: the same verdicts as evaluating
	// the events in order through one engine.
	one, err := newOneEngine()
	if err != nil {
		t.Fatal(err)
	}
	for i := range evs {
		v := one.Evaluate(context.Background(), &evs[i])
		if v.Hits == nil {
			v.Hits = []warden.Hit{}
		}
		if got := string(mustJSON(v)); got != ref.verdict[i] {
			t.Fatalf("event %d: one engine says %s, one partition %s", i, got, ref.verdict[i])
		}
	}
	// The workload must exercise the signals across actors, or the
	// comparison below proves nothing.
	for _, r := range []string{"lockstep_detector", "lockstep_bursts", "signup_burst_ip", "credential_stuffing_ip", "copy_paste_link_wave", "linked_new_cluster"} {
		if ref.hits[r] == 0 {
			t.Errorf("rule %s never fires on one node: the workload no longer exercises it", r)
		}
	}
	t.Logf("%d events, %d campaign kinds", len(evs), len(ref.recall))
	for _, p := range ps {
		pl := measurePlacement(t, evs, truths, g, p)
		same := 0
		for i := range evs {
			if pl.verdict[i] == ref.verdict[i] {
				same++
			}
		}
		t.Logf("P=%d: %d of %d verdicts (%.2f%%) as on one node; ordinary accounts flagged %d of %d (one node: %d)",
			p, same, len(evs), 100*float64(same)/float64(len(evs)), pl.fpr[1], pl.fpr[0], ref.fpr[1])
		var kinds []string
		for k := range ref.recall {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		for _, k := range kinds {
			r, q := ref.recall[k], pl.recall[k]
			t.Logf("  recall %-22s one node %.3f (%d/%d)  P=%d %.3f (%d/%d)", k, ratioOf(r), r[1], r[0], p, ratioOf(q), q[1], q[0])
		}
		var rules []string
		for r := range ref.hits {
			rules = append(rules, r)
		}
		for r := range pl.hits {
			if _, ok := ref.hits[r]; !ok {
				rules = append(rules, r)
			}
		}
		sort.Strings(rules)
		for _, r := range rules {
			if ref.hits[r] != pl.hits[r] {
				t.Logf("  hits   %-34s one node %6d  P=%d %6d", r, ref.hits[r], p, pl.hits[r])
			}
		}
		if same != len(evs) {
			t.Errorf("P=%d: %d verdicts differ from one node's; with the crowd stage every verdict must be the same", p, len(evs)-same)
		}
	}
}

func ratioOf(c [2]int) float64 {
	if c[0] == 0 {
		return 0
	}
	return float64(c[1]) / float64(c[0])
}
