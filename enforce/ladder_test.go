package enforce

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/engine"
	"github.com/wardenhq/warden/rules"
)

const spamRules = `
rules:
  - name: spam_link
    on: [post]
    when: text contains "buy now"
    action: review
    reason: "a spam link"
    version: 1
    tags: [spam]
  - name: spam_link_shadow
    on: [post]
    mode: shadow
    when: text contains "shadow"
    action: block
    reason: "a shadow rule"
    version: 1
    tags: [spam]
`

const spamLadder = `
ladders:
  - policy: spam
    tags: [spam]
    category: scam
    decay: 72h
    cooldown: 10m
    steps: [warn, challenge, rate_limit, suspend 24h, ban]
`

// ladderEngine is an engine over spamRules with the ladder of spamLadder.
func ladderEngine(t *testing.T) (*engine.Engine, *Ladder) {
	t.Helper()
	dir, ps := spamSetup(t)
	l := NewLadder(ps, 1000)
	e, err := engine.Open(engine.Options{RulesDir: dir, Escalate: l.Escalate, Parts: map[string]engine.Part{"ladder": l}, Budget: -1})
	if err != nil {
		t.Fatal(err)
	}
	return e, l
}

// spamSetup writes spamRules to a rule directory and parses spamLadder.
func spamSetup(tb testing.TB) (string, []Policy) {
	tb.Helper()
	dir := tb.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "spam.yaml"), []byte(spamRules), 0o644); err != nil {
		tb.Fatal(err)
	}
	ps, err := ParseLadders("spam ladder", []byte(spamLadder))
	if err != nil {
		tb.Fatal(err)
	}
	return dir, ps
}

func post(id, actor, text string, at time.Time) *warden.Event {
	return &warden.Event{ID: id, Type: "post", Actor: actor, Time: at, Text: text}
}

func ladderHit(v warden.Verdict) *warden.Hit {
	for i := range v.Hits {
		if strings.HasPrefix(v.Hits[i].Rule, LadderRule) {
			return &v.Hits[i]
		}
	}
	return nil
}

// TestLadderClimbs: four spam hits ten minutes or more apart take the
// account from a warning to a 24 h suspension; hits within the cooldown
// are one offence, shadow hits are none, other accounts are untouched, and
// strikes decay.
func TestLadderClimbs(t *testing.T) {
	e, l := ladderEngine(t)
	ctx := context.Background()
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	want := []struct {
		step   string
		action warden.Action
	}{{"warn", warden.ActionReview}, {"challenge", warden.ActionReview}, {"rate_limit", warden.ActionReview}, {"suspend", warden.ActionBlock}, {"ban", warden.ActionBlock}}
	for i, w := range want {
		at := t0.Add(time.Duration(i) * 15 * time.Minute)
		v := e.Evaluate(ctx, post("p"+string(rune('a'+i)), "spammer", "buy now at example.com", at))
		h := ladderHit(v)
		if h == nil || h.Escalation == nil || h.Escalation.Strike != i+1 || h.Escalation.Step != w.step || v.Action != w.action {
			t.Fatalf("hit %d: action %s, ladder hit %+v; want strike %d, step %s", i+1, v.Action, h, i+1, w.step)
		}
		if w.step == "suspend" && (h.Escalation.Duration != "24h0m0s" || h.Case != warden.CaseAccount || h.Category != warden.CategoryScam) {
			t.Fatalf("the suspension's hit = %+v", h)
		}
		// within the cooldown: the same offence
		v = e.Evaluate(ctx, post("q"+string(rune('a'+i)), "spammer", "buy now again", at.Add(time.Minute)))
		if ladderHit(v) != nil {
			t.Fatalf("a hit a minute after strike %d was another strike", i+1)
		}
	}
	if n := len(l.Strikes("spammer", t0.Add(2*time.Hour))); n != 5 {
		t.Fatalf("live strikes = %d, want 5", n)
	}
	v := e.Evaluate(ctx, post("s1", "other", "shadow", t0))
	if ladderHit(v) != nil || len(l.Strikes("other", t0)) != 0 {
		t.Fatal("a shadow hit counted a strike")
	}
	// three days later every strike has decayed: a new offence is a warning
	later := t0.Add(80 * time.Hour)
	v = e.Evaluate(ctx, post("late", "spammer", "buy now", later))
	if h := ladderHit(v); h == nil || h.Escalation.Strike != 1 || h.Escalation.Step != "warn" {
		t.Fatalf("after the decay: %+v", h)
	}

	// the engine's snapshot carries the strikes
	var buf bytes.Buffer
	if err := l.WriteState(&buf); err != nil {
		t.Fatal(err)
	}
	ps, _ := ParseLadders("x", []byte(spamLadder))
	l2 := NewLadder(ps, 1000)
	if err := l2.ReadState(&buf); err != nil || len(l2.Strikes("spammer", later)) != 1 {
		t.Fatalf("restored strikes = %v, %v", l2.Strikes("spammer", later), err)
	}
}

func TestParseLaddersRefuses(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"loop", "ladders:\n  - {policy: p, tags: [x], steps: [warn, challenge, warn]}", "loop"},
		{"shorter suspension", "ladders:\n  - {policy: p, tags: [x], steps: [suspend 48h, suspend 24h]}", "loop"},
		{"unknown step", "ladders:\n  - {policy: p, tags: [x], steps: [warn, shame]}", `"shame" is not a step`},
		{"suspension without length", "ladders:\n  - {policy: p, tags: [x], steps: [suspend]}", "needs its length"},
		{"length on a ban", "ladders:\n  - {policy: p, tags: [x], steps: [ban 1h]}", "only suspend"},
		{"no steps", "ladders:\n  - {policy: p, tags: [x]}", "at least one step"},
		{"no tags", "ladders:\n  - {policy: p, steps: [warn]}", "tags"},
		{"tag on two ladders", "ladders:\n  - {policy: p, tags: [x], steps: [warn]}\n  - {policy: q, tags: [x], steps: [warn]}", "a hit climbs one ladder"},
		{"twice", "ladders:\n  - {policy: p, tags: [x], steps: [warn]}\n  - {policy: p, tags: [y], steps: [warn]}", "declared twice"},
		{"bad decay", "ladders:\n  - {policy: p, tags: [x], decay: soon, steps: [warn]}", "decay"},
		{"cooldown past decay", "ladders:\n  - {policy: p, tags: [x], decay: 1h, cooldown: 2h, steps: [warn]}", "cooldown"},
		{"unknown field", "ladders:\n  - {policy: p, tags: [x], steps: [warn], colour: red}", "colour"},
		{"unknown category", "ladders:\n  - {policy: p, tags: [x], category: spam, steps: [warn]}", "category"},
	} {
		ps, err := ParseLadders("l.yaml", []byte(tc.text))
		if err == nil || ps != nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "l.yaml") {
			t.Errorf("%s: %v (%d policies), want an error with %q", tc.name, err, len(ps), tc.want)
		}
	}
}

// TestBuiltInLadders: the pack's ladders load, and each tag they climb on
// is a tag of some built-in rule.
func TestBuiltInLadders(t *testing.T) {
	ps, err := LoadLadders(rules.FS)
	if err != nil || len(ps) == 0 {
		t.Fatalf("%d ladders, %v", len(ps), err)
	}
	e, err := engine.Open(engine.Options{}) // the built-in pack
	if err != nil {
		t.Fatal(err)
	}
	tags := map[string]bool{}
	for _, r := range e.Rules() {
		for _, tg := range r.Tags {
			tags[tg] = true
		}
	}
	for _, p := range ps {
		for _, tg := range p.Tags {
			if !tags[tg] {
				t.Errorf("ladder %s climbs on tag %q, which no built-in rule has", p.Name, tg)
			}
		}
	}
}

// FuzzParseLadders: a ladder file is refused with an error naming it, or
// every policy it yields has steps rising in severity.
func FuzzParseLadders(f *testing.F) {
	f.Add([]byte(spamLadder))
	f.Add([]byte("ladders:\n  - {policy: p, tags: [x], steps: [warn, suspend 1h, suspend 2h, ban]}"))
	f.Add([]byte("ladders: [{policy: p}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ps, err := ParseLadders("f.yaml", data)
		if err != nil {
			if ps != nil || !strings.HasPrefix(err.Error(), "f.yaml") {
				t.Fatalf("%v with %d policies", err, len(ps))
			}
			return
		}
		for _, p := range ps {
			if len(p.Steps) == 0 || len(p.Tags) == 0 || p.Decay <= p.Cooldown {
				t.Fatalf("accepted %+v", p)
			}
			for i := 1; i < len(p.Steps); i++ {
				a, b := p.Steps[i-1], p.Steps[i]
				ra, rb := indexOf(a.Action), indexOf(b.Action)
				if rb < ra || (rb == ra && b.Duration <= a.Duration) {
					t.Fatalf("accepted a loop: %v", p.Steps)
				}
			}
		}
	})
}

func indexOf(step string) int {
	for i, s := range stepOrder {
		if s == step {
			return i
		}
	}
	return -1
}

// BenchmarkLadder measures what the ladder adds to an evaluation: the same
// events (one in ten a spam hit, from 10,000 accounts) through the engine
// with and without it, in one run. The difference of the two is the
// ladder's cost per event.
func BenchmarkLadder(b *testing.B) {
	dir, ps := spamSetup(b)
	evs := make([]*warden.Event, 4096)
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for i := range evs {
		text := "a holiday photo"
		if i%10 == 0 {
			text = "buy now at example.com"
		}
		evs[i] = post("b", "acct"+strings.Repeat("x", i%7)+string(rune('a'+i%26)), text, t0.Add(time.Duration(i)*time.Second))
	}
	for _, withLadder := range []bool{false, true} {
		name := "without"
		opt := engine.Options{RulesDir: dir, Budget: -1}
		if withLadder {
			name = "with"
			l := NewLadder(ps, 1_000_000)
			opt.Escalate, opt.Parts = l.Escalate, map[string]engine.Part{"ladder": l}
		}
		benchEngine(b, name, opt, evs)
	}
}

// benchEngine runs evs, over and over an hour later each round, through
// an engine opened with opt, as sub-benchmark name.
func benchEngine(b *testing.B, name string, opt engine.Options, evs []*warden.Event) {
	e, err := engine.Open(opt)
	if err != nil {
		b.Fatal(err)
	}
	b.Run(name, func(b *testing.B) {
		ctx := context.Background()
		for i := 0; i < b.N; i++ {
			ev := *evs[i%len(evs)]
			ev.Time = ev.Time.Add(time.Duration(i/len(evs)) * time.Hour)
			e.Evaluate(ctx, &ev)
		}
	})
}
