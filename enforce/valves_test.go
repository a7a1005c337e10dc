package enforce

import (
	"bytes"
	"context"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/engine"
	"github.com/wardenhq/warden/rules"
)

// valveRules: a blocking rule on a spam tag (a ladder climbs on it), one
// that sets a label, and one nothing valves (allow).
const valveRules = `
rules:
  - name: scam_link
    on: [post]
    when: text contains "scam.example"
    action: block
    reason: "a scam link"
    version: 1
    tags: [spam]
    labels: [{entity: actor, label: scammer, ttl: 720h}]
  - name: has_scam_label
    on: [post]
    when: has_label(actor, "scammer") && text contains "again"
    action: rate_limit
    reason: "labelled a scammer"
    version: 1
`

const valveLadder = `
ladders:
  - policy: spam
    tags: [spam]
    category: scam
    decay: 72h
    cooldown: 1m
    steps: [warn, suspend 24h, ban]
`

// valveEngine is an engine over valveRules with the ladder of valveLadder
// and the valves declared by valves (YAML), and its labels.
func valveEngine(t testing.TB, valves string) (*engine.Engine, *Valves) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "r.yaml"), []byte(valveRules), 0o644); err != nil {
		t.Fatal(err)
	}
	e, v, _ := openValveEngine(t, dir, valves)
	return e, v
}

func openValveEngine(t testing.TB, dir, valves string) (*engine.Engine, *Valves, *Labels) {
	t.Helper()
	ps, err := ParseLadders("ladder", []byte(valveLadder))
	if err != nil {
		t.Fatal(err)
	}
	set, err := ParseValves("valves.yaml", []byte(valves))
	if err != nil {
		t.Fatal(err)
	}
	v := NewValves(set, NewLadder(ps, 1000), 1000)
	labels := NewLabels(1000)
	e, err := engine.Open(engine.Options{RulesDir: dir, Labels: labels, OnEffects: labels.Apply, Escalate: v.Escalate,
		Parts: map[string]engine.Part{"valves": v, "ladder": v.ladder, "labels": labels}, Budget: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := set.CheckRules(func(r string) bool { return e.RuleSet().Has(r) }); err != nil {
		t.Fatal(err)
	}
	return e, v, labels
}

func hitOf(v warden.Verdict, rule string) *warden.Hit {
	for i := range v.Hits {
		if v.Hits[i].Rule == rule {
			return &v.Hits[i]
		}
	}
	return nil
}

// noBreaker and noJitter turn off the valves a test does not look at.
const noBreaker = "defaults: {breaker_factor: 0, jitter: 0s}\n"

// TestQuotaHoldsToReview: past its quota of three blocks a UTC day the
// rule's hits are kept, explained and held to review; they count no
// strikes and set no labels; the next UTC day the quota starts again.
func TestQuotaHoldsToReview(t *testing.T) {
	e, _ := valveEngine(t, noBreaker+"rules:\n  - {rule: scam_link, quota: 3}\n")
	ctx := context.Background()
	t0 := time.Date(2026, 12, 1, 22, 0, 0, 0, time.UTC)
	for i := range 5 {
		actor := fmt.Sprintf("a%d", i)
		v := e.Evaluate(ctx, post(fmt.Sprint("q", i), actor, "see scam.example", t0.Add(time.Duration(i)*time.Minute)))
		h := hitOf(v, "scam_link")
		if i < 3 {
			if v.Action != warden.ActionBlock || h.Action != warden.ActionBlock || hitOf(v, "ladder:spam") == nil {
				t.Fatalf("event %d within the quota: %+v", i, v)
			}
			continue
		}
		if v.Action != warden.ActionReview || h.Action != warden.ActionReview || h.Mode != warden.ModeEnforce ||
			!strings.Contains(h.Reason, "quota of 3 reached today (UTC)") || hitOf(v, "ladder:spam") != nil {
			t.Fatalf("event %d past the quota: %+v", i, v)
		}
		// held: its label was not set, so the labelled rule does not fire
		v = e.Evaluate(ctx, post(fmt.Sprint("r", i), actor, "again", t0.Add(time.Duration(i)*time.Minute+time.Second)))
		if hitOf(v, "has_scam_label") != nil {
			t.Fatalf("a hit held by its quota set its label: %+v", v)
		}
	}
	// the labels of hits within the quota were set
	if v := e.Evaluate(ctx, post("r0", "a0", "again", t0.Add(10*time.Minute))); hitOf(v, "has_scam_label") == nil {
		t.Fatalf("a hit within its quota set no label: %+v", v)
	}
	// a new UTC day
	v := e.Evaluate(ctx, post("next", "b", "scam.example", t0.Add(2*time.Hour)))
	if v.Action != warden.ActionBlock {
		t.Fatalf("the next day's first hit: %+v", v)
	}
}

// TestQuotaCountsLadderSteps: a quota counting suspensions only holds
// the suspension a strike reached past it, to review, with no decision.
func TestQuotaCountsLadderSteps(t *testing.T) {
	e, _ := valveEngine(t, noBreaker+"rules:\n  - {rule: scam_link, quota: 1, quota_effects: [suspend]}\n")
	ctx := context.Background()
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for i, actor := range []string{"x", "y"} {
		e.Evaluate(ctx, post("w"+actor, actor, "scam.example", t0))
		v := e.Evaluate(ctx, post("s"+actor, actor, "scam.example", t0.Add(2*time.Minute)))
		h := hitOf(v, "ladder:spam")
		if i == 0 && (h.Escalation == nil || h.Escalation.Step != StepSuspend) {
			t.Fatalf("the first suspension, within the quota: %+v", h)
		}
		if i == 1 && (h.Escalation != nil || h.Action != warden.ActionReview || !strings.Contains(h.Reason, "quota of 1 reached today (UTC)")) {
			t.Fatalf("the second suspension, past the quota: %+v", h)
		}
		if hitOf(v, "scam_link").Action != warden.ActionBlock {
			t.Fatalf("the rule's own block is not counted by a quota of suspensions: %+v", v)
		}
	}
}

// breakerTraffic sends n events from t, one every gap, every kth with a
// scam link (k 0: none), from distinct actors, and returns the verdicts of
// the scam hits.
func breakerTraffic(e *engine.Engine, tag string, t time.Time, n, k int, gap time.Duration) []warden.Verdict {
	var out []warden.Verdict
	for i := range n {
		text := "a holiday photo"
		if k > 0 && i%k == 0 {
			text = "cheap at scam.example"
		}
		v := e.Evaluate(context.Background(), post(fmt.Sprint(tag, i), fmt.Sprint(tag, "-", i), text, t.Add(time.Duration(i)*gap)))
		if hitOf(v, "scam_link") != nil {
			out = append(out, v)
		}
	}
	return out
}

// TestBreakerTripsAndRearms: a rule that fires on 2 % of a day's traffic,
// then on a third in ten minutes, is tripped: its hits are held to review
// with the shares, the admin is alerted once; a re-arm puts it back in
// force, and the burst it accepted does not trip it again.
func TestBreakerTripsAndRearms(t *testing.T) {
	e, vs := valveEngine(t, "defaults: {jitter: 0s}\n")
	var alerts []Breaker
	vs.OnTrip = func(b Breaker) { alerts = append(alerts, b) }
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for _, v := range breakerTraffic(e, "n", t0, 2000, 50, 20*time.Second) { // 11 hours, 2 %
		if v.Action != warden.ActionBlock {
			t.Fatalf("normal traffic held: %+v", v)
		}
	}
	if len(alerts) != 0 || len(vs.Breakers()) != 0 {
		t.Fatalf("tripped by normal traffic: %v", alerts)
	}
	burst := breakerTraffic(e, "b", t0.Add(12*time.Hour), 600, 3, time.Second)
	held := 0
	for _, v := range burst {
		if h := hitOf(v, "scam_link"); h.Action == warden.ActionReview {
			held++
			if v.Action != warden.ActionReview || !strings.Contains(h.Reason, "held to review by its breaker: ") || !strings.Contains(h.Reason, " % usual") {
				t.Fatalf("a held hit: %+v", v)
			}
		}
	}
	if held < len(burst)/2 || len(alerts) != 1 || alerts[0].Rule != "scam_link" || alerts[0].Share < 0.2 || alerts[0].Usual > 0.05 {
		t.Fatalf("%d of %d burst hits held, alerts %+v", held, len(burst), alerts)
	}
	if bs := vs.Breakers(); len(bs) != 1 || bs[0].Rule != "scam_link" || !strings.Contains(bs[0].Reason, "of events vs") {
		t.Fatalf("tripped breakers = %+v", bs)
	}
	if _, err := vs.PrepareRearm("has_scam_label"); err == nil {
		t.Fatal("re-armed a breaker that is not tripped")
	}
	r, err := vs.PrepareRearm("scam_link")
	if err != nil {
		t.Fatal(err)
	}
	vs.AddRearm(r)
	if len(vs.Breakers()) != 0 {
		t.Fatal("a re-armed breaker is still listed")
	}
	for _, v := range breakerTraffic(e, "c", t0.Add(12*time.Hour+11*time.Minute), 300, 3, time.Second) {
		if v.Action != warden.ActionBlock {
			t.Fatalf("after the re-arm, the same burst is held: %+v", v)
		}
	}
	if len(alerts) != 1 {
		t.Fatalf("alerts after the re-arm: %+v", alerts)
	}
}

// TestBreakerNeedsVolume: a rule firing on every one of a few events
// trips nothing: the breaker judges only with traffic enough.
func TestBreakerNeedsVolume(t *testing.T) {
	e, vs := valveEngine(t, "defaults: {jitter: 0s}\n")
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for _, v := range breakerTraffic(e, "f", t0, 150, 1, time.Second) {
		if v.Action != warden.ActionBlock {
			t.Fatalf("held with little traffic: %+v", v)
		}
	}
	if len(vs.Breakers()) != 0 {
		t.Fatal("tripped with little traffic")
	}
}

// TestHoldout: a fifth of the actors are the rule's hold-out: their hits
// say so (mode holdout), count nothing in the verdict, no strike and no
// label; the draw is the same on every evaluation.
func TestHoldout(t *testing.T) {
	e, vs := valveEngine(t, noBreaker+"rules:\n  - {rule: scam_link, holdout: 0.2}\n")
	ctx := context.Background()
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	out := 0
	for i := range 1000 {
		actor := fmt.Sprint("h", i)
		v := e.Evaluate(ctx, post(fmt.Sprint("e", i), actor, "scam.example", t0.Add(time.Duration(i)*time.Second)))
		h := hitOf(v, "scam_link")
		in := vs.inHoldout(actor, "scam_link", 0.2)
		if in != (h.Mode == warden.ModeHoldout) {
			t.Fatalf("actor %s: hit %+v, drawn %v", actor, h, in)
		}
		if !in {
			continue
		}
		out++
		if v.Action != warden.ActionAllow || h.Action != warden.ActionBlock || hitOf(v, "ladder:spam") != nil || !strings.Contains(h.Reason, "hold-out") {
			t.Fatalf("a hold-out hit acted: %+v", v)
		}
		if v := e.Evaluate(ctx, post(fmt.Sprint("g", i), actor, "again", t0.Add(time.Duration(i)*time.Second+time.Millisecond))); hitOf(v, "has_scam_label") != nil {
			t.Fatal("a hold-out hit set its label")
		}
	}
	if out < 150 || out > 250 {
		t.Fatalf("%d of 1000 actors held out, want about 200", out)
	}
	// the draw is the declaration's: another Valves with it draws the
	// same groups, another seed or another rule other groups
	again := NewValves(vs.Set(), nil, 10)
	reseeded, err := ParseValves("v", []byte("seed: another"))
	if err != nil {
		t.Fatal(err)
	}
	other := NewValves(reseeded, nil, 10)
	var differ, otherSeed, otherRule int
	for i := range 1000 {
		a := fmt.Sprint("h", i)
		in := vs.inHoldout(a, "scam_link", 0.2)
		if again.inHoldout(a, "scam_link", 0.2) != in {
			differ++
		}
		if other.inHoldout(a, "scam_link", 0.2) != in {
			otherSeed++
		}
		if vs.inHoldout(a, "other_rule", 0.2) != in {
			otherRule++
		}
	}
	if differ != 0 || otherSeed < 100 || otherRule < 100 {
		t.Fatalf("of 1000 actors, %d drawn otherwise by the same declaration, %d by another seed, %d for another rule", differ, otherSeed, otherRule)
	}
}

// TestJitterDelaysSuspension: a suspension a strike reached waits its
// seeded delay: the verdict says it is pending and does not block; the
// account's events before the delay are not blocked; the first after it
// carries the suspension, as the ladder would have.
func TestJitterDelaysSuspension(t *testing.T) {
	e, vs := valveEngine(t, "defaults: {breaker_factor: 0, jitter: 5m-25m}\n")
	ctx := context.Background()
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	// delays are seeded per account and rule, within the range
	seen := map[time.Duration]bool{}
	for i := range 200 {
		d := vs.Jitter(fmt.Sprint("acct", i), "scam_link")
		if d < 5*time.Minute || d > 25*time.Minute || d != vs.Jitter(fmt.Sprint("acct", i), "scam_link") {
			t.Fatalf("jitter %s", d)
		}
		seen[d] = true
	}
	if len(seen) < 100 {
		t.Fatalf("%d distinct delays of 200", len(seen))
	}
	delay := vs.Jitter("sp", "scam_link")
	e.Evaluate(ctx, post("1", "sp", "scam.example", t0)) // warn
	v := e.Evaluate(ctx, post("2", "sp", "scam.example", t0.Add(2*time.Minute)))
	h := hitOf(v, "ladder:spam")
	if h == nil || h.Escalation != nil || h.Action != warden.ActionAllow || h.Case != warden.CaseNone || !strings.Contains(h.Reason, "pending: takes effect on the account's next event after") {
		t.Fatalf("the delayed suspension's hit: %+v", h)
	}
	if p, ok := vs.PendingOf("sp"); !ok || p.Step != StepSuspend || p.Due.Time().Sub(p.At.Time()) != delay {
		t.Fatalf("pending = %+v %v, want a suspension due after %s", p, ok, delay)
	}
	v = e.Evaluate(ctx, post("3", "sp", "hello", t0.Add(2*time.Minute+delay-time.Second)))
	if v.Action != warden.ActionAllow || hitOf(v, "ladder:spam") != nil {
		t.Fatalf("before the delay: %+v", v)
	}
	v = e.Evaluate(ctx, post("4", "sp", "hello", t0.Add(2*time.Minute+delay)))
	h = hitOf(v, "ladder:spam")
	if v.Action != warden.ActionBlock || h == nil || h.Escalation == nil || h.Escalation.Step != StepSuspend || h.Escalation.Duration != "24h0m0s" ||
		h.Case != warden.CaseAccount || h.Category != warden.CategoryScam || !strings.Contains(h.Reason, "in force after its delay") {
		t.Fatalf("after the delay: %+v", v)
	}
	if _, ok := vs.PendingOf("sp"); ok {
		t.Fatal("still pending once in force")
	}
}

// TestValvesSnapshotRoundTrip: the valves' state written and read back
// is the same state, and the engines go on with the same verdicts.
func TestValvesSnapshotRoundTrip(t *testing.T) {
	const decl = "defaults: {jitter: 1m-30m, quota: 50}\n"
	e, vs := valveEngine(t, decl)
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	breakerTraffic(e, "n", t0, 1500, 40, 30*time.Second)
	e.Evaluate(context.Background(), post("p1", "sp", "scam.example", t0.Add(12*time.Hour)))
	e.Evaluate(context.Background(), post("p2", "sp", "scam.example", t0.Add(12*time.Hour+2*time.Minute))) // pending
	breakerTraffic(e, "b", t0.Add(13*time.Hour), 400, 2, time.Second)                                      // trips
	if len(vs.Breakers()) != 1 || len(vs.st.Pending) == 0 || len(vs.st.Quota) == 0 {
		t.Fatalf("set-up: breakers %v, pending %d, quotas %d", vs.Breakers(), len(vs.st.Pending), len(vs.st.Quota))
	}
	var buf bytes.Buffer
	if err := e.SaveState(&buf); err != nil {
		t.Fatal(err)
	}
	e2, vs2 := valveEngine(t, decl)
	if err := e2.LoadState(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(vs.st, vs2.st) {
		t.Fatal("the valves' state read back differs")
	}
	a := breakerTraffic(e, "m", t0.Add(15*time.Hour), 300, 2, time.Second)
	b := breakerTraffic(e2, "m", t0.Add(15*time.Hour), 300, 2, time.Second)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("verdicts after the snapshot differ")
	}
	if err := vs2.ReadState(strings.NewReader("not gob")); err == nil || len(vs2.st.Breakers) != 0 {
		t.Fatalf("a bad snapshot: %v, state kept", err)
	}
}

// replayDecl are valves that act on small traffic: every valve acts in a
// few hundred events.
const replayDecl = "defaults: {jitter: 0s-20m, quota: 40, breaker_min_events: 30, breaker_min_hits: 3, breaker_factor: 3}\nbreaker: {window: 10m, baseline: 2h}\nrules:\n  - {rule: scam_link, holdout: 0.1}\n"

// replayTraffic is posts from 31 actors, gap() apart (a negative gap is a
// late event), scam links on p (0–99) under 5 before burst and under 50
// from it, one in ten "again".
func replayTraffic(n, burst int, gap func() int, p func() int, again func() bool, actor func() int) []*warden.Event {
	at := time.Date(2026, 12, 1, 23, 0, 0, 0, time.UTC)
	evs := make([]*warden.Event, n)
	for i := range evs {
		at = at.Add(time.Duration(gap()) * time.Second)
		text := "a photo"
		if x := p(); (i < burst && x < 5) || (i >= burst && x < 50) {
			text = "scam.example"
		}
		if again() {
			text += " again"
		}
		evs[i] = post(fmt.Sprint("e", i), fmt.Sprint("u", actor()), text, at)
	}
	return evs
}

// fataler is what checkReplay needs of a *testing.T or a *rapid.T.
type fataler interface {
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

// checkReplay evaluates evs through the valves of replayDecl, snapshotting
// before event cut and re-arming the first tripped breakers from event
// rearmAt; then checks that restoring the snapshot and evaluating the
// rest, and evaluating everything from empty (with the stored re-arms),
// give the same verdicts. It counts in covered what the valves did.
func checkReplay(t *testing.T, ft fataler, dir string, evs []*warden.Event, cut, rearmAt int, covered map[string]int) {
	ctx := context.Background()
	first, v1, _ := openValveEngine(t, dir, replayDecl)
	var want []warden.Verdict
	var snap bytes.Buffer
	var rearms []Rearm
	for i, ev := range evs {
		if i == cut {
			if err := first.SaveState(&snap); err != nil {
				ft.Fatal(err)
			}
		}
		if i >= rearmAt && len(rearms) == 0 { // the first tripped breakers from there
			for _, b := range v1.Breakers() {
				r, err := v1.PrepareRearm(b.Rule)
				if err != nil {
					ft.Fatal(err)
				}
				v1.AddRearm(r)
				rearms = append(rearms, r)
			}
		}
		v := first.Evaluate(ctx, ev)
		for _, h := range v.Hits {
			for _, w := range []string{"breaker", "quota", "hold-out", "pending", "in force after"} {
				if strings.Contains(h.Reason, w) {
					covered[w]++
				}
			}
		}
		want = append(want, v)
	}
	if len(rearms) > 0 {
		covered["rearm"]++
	}
	if cut == len(evs) {
		if err := first.SaveState(&snap); err != nil {
			ft.Fatal(err)
		}
	}

	restored, v2, _ := openValveEngine(t, dir, replayDecl)
	v2.SetRearms(rearms)
	if err := restored.LoadState(&snap); err != nil {
		ft.Fatal(err)
	}
	for i := cut; i < len(evs); i++ {
		if got := restored.Evaluate(ctx, evs[i]); !reflect.DeepEqual(got, want[i]) {
			ft.Fatalf("event %d after a snapshot at %d:\n got %+v\nwant %+v", i, cut, got, want[i])
		}
	}
	fresh, v3, _ := openValveEngine(t, dir, replayDecl)
	v3.SetRearms(rearms)
	for i, ev := range evs {
		if got := fresh.Evaluate(ctx, ev); !reflect.DeepEqual(got, want[i]) {
			ft.Fatalf("event %d replayed from empty:\n got %+v\nwant %+v", i, got, want[i])
		}
	}
}

// TestValvesReplay: whatever the traffic (late events among it) and
// wherever the snapshot falls and an admin re-arms, restoring the snapshot
// and replaying the rest, or replaying everything from empty, gives the
// verdicts of the first run. A fixed traffic first, on which every valve
// acts, then rapid's.
func TestValvesReplay(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "r.yaml"), []byte(valveRules), 0o644); err != nil {
		t.Fatal(err)
	}
	r := mrand.New(mrand.NewPCG(1, 2))
	covered := map[string]int{}
	evs := replayTraffic(400, 200, func() int { return r.IntN(51) - 20 }, func() int { return r.IntN(100) },
		func() bool { return r.IntN(10) == 0 }, func() int { return r.IntN(31) })
	checkReplay(t, t, dir, evs, 250, 300, covered)
	for _, w := range []string{"breaker", "quota", "hold-out", "pending", "in force after", "rearm"} {
		if covered[w] == 0 {
			t.Errorf("the fixed traffic did not exercise %q (%v)", w, covered)
		}
	}
	rapid.Check(t, func(rt *rapid.T) {
		n := rapid.IntRange(50, 400).Draw(rt, "events")
		burst := rapid.IntRange(0, n).Draw(rt, "burst")
		evs := replayTraffic(n, burst, func() int { return rapid.IntRange(-20, 30).Draw(rt, "gap") },
			func() int { return rapid.IntRange(0, 99).Draw(rt, "p") },
			func() bool { return rapid.IntRange(0, 9).Draw(rt, "again") == 0 },
			func() int { return rapid.IntRange(0, 30).Draw(rt, "actor") })
		checkReplay(t, rt, dir, evs, rapid.IntRange(0, n).Draw(rt, "snapshot"), rapid.IntRange(0, n).Draw(rt, "rearm"), map[string]int{})
	})
}

func TestParseValvesRefuses(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"negative quota", "rules:\n  - {rule: r, quota: -1}", "rules[0] (r): quota"},
		{"unknown effect", "defaults: {quota_effects: [shame]}", "defaults: quota_effects[0]"},
		{"no effects", "defaults: {quota_effects: []}", "quota_effects"},
		{"factor below 1.5", "rules:\n  - {rule: r, breaker_factor: 1.1}", "breaker_factor"},
		{"min share of all", "defaults: {breaker_min_share: 1}", "breaker_min_share"},
		{"holdout of half", "rules:\n  - {rule: r, holdout: 0.5}", "holdout"},
		{"negative holdout", "defaults: {holdout: -0.1}", "holdout"},
		{"jitter backwards", "defaults: {jitter: 30m-1m}", "jitter"},
		{"jitter past a day", "defaults: {jitter: 0s-48h}", "jitter"},
		{"jitter words", "defaults: {jitter: soon}", "jitter"},
		{"min events zero", "defaults: {breaker_min_events: 0}", "breaker_min_events"},
		{"short window", "breaker: {window: 10s}", "breaker.window"},
		{"baseline too short", "breaker: {window: 1h, baseline: 90m}", "breaker.baseline"},
		{"no rule", "rules:\n  - {quota: 3}", "rules[0]: rule"},
		{"a ladder", "rules:\n  - {rule: 'ladder:spam', quota: 3}", "is a ladder"},
		{"twice", "rules:\n  - {rule: r, quota: 3}\n  - {rule: r, quota: 4}", "declared twice"},
		{"unknown field", "rules:\n  - {rule: r, quota: 3, colour: red}", "colour"},
		{"empty seed", "seed: ''", "seed"},
	} {
		vs, err := ParseValves("v.yaml", []byte(tc.text))
		if err == nil || vs != nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "v.yaml") {
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.want)
		}
	}
	vs, err := ParseValves("v.yaml", []byte("rules:\n  - {rule: nosuch, quota: 3}"))
	if err != nil {
		t.Fatal(err)
	}
	if err := vs.CheckRules(func(string) bool { return false }); err == nil || !strings.Contains(err.Error(), `v.yaml: rules[0] (nosuch): rule: "nosuch" is not a rule`) {
		t.Errorf("an unknown rule: %v", err)
	}
}

// TestBuiltInValves: the pack's valves load and name only its rules.
func TestBuiltInValves(t *testing.T) {
	vs, err := LoadValves(rules.FS)
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.Open(engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := vs.CheckRules(func(r string) bool { return e.RuleSet().Has(r) }); err != nil {
		t.Fatal(err)
	}
	if vs.Defaults.BreakerFactor != 10 || vs.Defaults.JitterMax != 30*time.Minute || vs.For("denied_domain").Quota != 5000 {
		t.Fatalf("the pack's valves = %+v", vs)
	}
}

// FuzzParseValves: a valves file is refused with an error naming it, or
// what it yields is in range.
func FuzzParseValves(f *testing.F) {
	data, err := rules.FS.ReadFile("valves/valves.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte("defaults: {jitter: 1m-2m, holdout: 0.1, quota: 3, quota_effects: [ban]}\nrules:\n  - {rule: r, breaker_factor: 0}"))
	f.Add([]byte("breaker: {window: 1m, baseline: 2m}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		vs, err := ParseValves("f.yaml", data)
		if err != nil {
			if vs != nil || !strings.HasPrefix(err.Error(), "f.yaml") {
				t.Fatalf("%v with %+v", err, vs)
			}
			return
		}
		if vs.Baseline < 2*vs.Window || vs.Window < time.Minute {
			t.Fatalf("accepted windows %s, %s", vs.Window, vs.Baseline)
		}
		all := []*RuleValves{&vs.Defaults}
		for _, rv := range vs.Rules {
			all = append(all, rv)
		}
		for _, rv := range all {
			if rv.Quota < 0 || len(rv.QuotaEffects) == 0 || rv.Holdout < 0 || rv.Holdout >= 0.5 || rv.JitterMin < 0 || rv.JitterMax < rv.JitterMin ||
				rv.JitterMax > maxJitter || (rv.BreakerFactor != 0 && rv.BreakerFactor < 1.5) || rv.BreakerMinEvents < 1 || rv.BreakerMinHits < 1 ||
				rv.BreakerMinShare < 0 || rv.BreakerMinShare >= 1 {
				t.Fatalf("accepted %+v", rv)
			}
		}
	})
}

// BenchmarkValves measures what the valves add to an evaluation: the
// same events (one in ten a scam hit, from 4,096 accounts) through an
// engine without them and one with them (a breaker, a quota, a 5 %
// hold-out and delays on every rule, over a ladder with no policies, so
// that the strikes' work is not in the difference). The two take turns
// over slices of 512 events, each going first every other turn, so that
// on a shared machine other processes' bursts fall on both alike, timed
// in the CPU time of the benchmark's own thread (the time other processes
// hold the core is not in it): the metrics are each engine's CPU ns per
// event and the difference.
func BenchmarkValves(b *testing.B) {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "r.yaml"), []byte(valveRules), 0o644); err != nil {
		b.Fatal(err)
	}
	evs := make([]*warden.Event, 4096)
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for i := range evs {
		text := "a holiday photo"
		if i%10 == 0 {
			text = "cheap at scam.example"
		}
		evs[i] = post("b", fmt.Sprint("acct", i), text, t0.Add(time.Duration(i)*time.Second))
	}
	plain, err := engine.Open(engine.Options{RulesDir: dir, Budget: -1})
	if err != nil {
		b.Fatal(err)
	}
	set, err := ParseValves("v", []byte("defaults: {quota: 100000, holdout: 0.05, jitter: 0s-30m}\n"))
	if err != nil {
		b.Fatal(err)
	}
	v := NewValves(set, nil, 1_000_000)
	valved, err := engine.Open(engine.Options{RulesDir: dir, Budget: -1, Escalate: v.Escalate, Parts: map[string]engine.Part{"valves": v}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	const slice = 512
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	run := func(e *engine.Engine, from, n int) time.Duration {
		start := threadCPU()
		for i := from; i < from+n; i++ {
			ev := *evs[i%len(evs)]
			ev.Time = ev.Time.Add(time.Duration(i/len(evs)) * time.Hour)
			e.Evaluate(ctx, &ev)
		}
		return threadCPU() - start
	}
	var without, with time.Duration
	b.ResetTimer()
	for i, turn := 0, 0; i < b.N; i, turn = i+slice, turn+1 {
		n := min(slice, b.N-i)
		if turn%2 == 0 {
			without += run(plain, i, n)
			with += run(valved, i, n)
		} else {
			with += run(valved, i, n)
			without += run(plain, i, n)
		}
	}
	b.ReportMetric(float64(without.Nanoseconds())/float64(b.N), "cpu-ns/event-without")
	b.ReportMetric(float64(with.Nanoseconds())/float64(b.N), "cpu-ns/event-with")
	b.ReportMetric(float64((with-without).Nanoseconds())/float64(b.N), "cpu-ns/event-added")
}
