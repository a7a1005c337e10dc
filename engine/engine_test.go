package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/detect"
	"github.com/wardenhq/warden/synth"
)

var t0 = time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC)

func compileText(t *testing.T, files map[string]string) (*RuleSet, error) {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, text := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(text)}
	}
	return Compile(fsys, CompileOptions{})
}

const followRules = `
counters:
  - {name: follows_10m, kind: count, on: [follow], key: actor, window: 10m}
rules:
  - name: follow_burst
    on: [follow]
    when: follows_10m >= 3
    action: block
    reason: "{{follows_10m}} follows by {{actor}}"
    version: 4
`

func TestCompileErrorsPointAtTheProblem(t *testing.T) {
	tests := []struct {
		name, text string
		want       string // file:line:col: message substring
	}{
		{"typo in a counter name", `
counters:
  - {name: follows_10m, kind: count, on: [follow], key: actor, window: 10m}
rules:
  - name: r
    when: follows_10mm >= 3
    action: block
`, "r.yaml:6:11: unknown name follows_10mm: did you mean follows_10m?"},
		{"typo deep in a quoted expression", `
rules:
  - name: r
    when: "type == 'follow' && acter == 'x'"
    action: block
`, "r.yaml:4:32: unknown name acter: did you mean actor?"},
		{"typo in a block expression", `
rules:
  - name: r
    when: |
      type == "follow" &&
        taget == "x"
    action: block
`, "r.yaml:6:9: unknown name taget: did you mean target?"},
		{"wrong type", `
rules:
  - name: r
    when: text_len + "x"
    action: block
`, "r.yaml:4:20: invalid operation"},
		{"not a bool", `
rules:
  - name: r
    when: text_len + 1
    action: block
`, "r.yaml:4:11: expected bool"},
		{"unknown key", `
rules:
  - name: r
    wen: true
    action: block
`, `r.yaml:4:5: unknown key "wen" in a rule; did you mean "when"?`},
		{"unknown action", `
rules:
  - name: r
    when: "true"
    action: ban
`, `r.yaml:3:5: rule "r": unknown action "ban"`},
		{"bad mode", `
rules:
  - {name: r, when: "true", action: block, mode: sampled:150%}
`, `r.yaml:3:5: rule "r": mode "sampled:150%" is not`},
		{"duplicate name", `
counters:
  - {name: x, kind: count, key: actor, window: 1m}
features:
  - {name: x, expr: "1"}
`, `r.yaml:5:5: feature "x" is already declared at r.yaml:3`},
		{"counter cycle", `
counters:
  - {name: a, kind: count, key: actor, where: b > 1, window: 1m}
  - {name: b, kind: count, key: actor, where: a > 1, window: 1m}
`, "depends on itself"},
		{"unknown list", `
rules:
  - {name: r, when: 'in_list("nope", actor)', action: block}
`, `r.yaml:3:5: unknown list "nope"`},
		{"bad window", `
counters:
  - {name: c, kind: count, key: actor, window: 10 minutes}
`, `r.yaml:3:5: counter "c": window "10 minutes" is not a duration`},
		{"yaml syntax", "rules:\n  - name: [\n", "r.yaml:2: did not find expected node content"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := compileText(t, map[string]string{"r.yaml": tt.text})
			if err == nil {
				t.Fatal("compiled; want an error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error\n  %v\ndoes not contain\n  %s", err, tt.want)
			}
		})
	}
}

func follow(id, actor string, at time.Time) *warden.Event {
	return &warden.Event{ID: id, Type: warden.EventFollow, Time: at, Actor: actor, Target: "t", TargetKind: warden.TargetAccount}
}

func TestVerdictsFollowModesAndWindows(t *testing.T) {
	tests := []struct {
		mode       string
		wantAction warden.Action
		wantMode   string
	}{
		{"enforce", warden.ActionBlock, "enforce"},
		{"shadow", warden.ActionAllow, "shadow"},
		{"sampled:100%", warden.ActionBlock, "sampled"},
		{"sampled:0%", warden.ActionAllow, "shadow"},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			rs, err := compileText(t, map[string]string{"f.yaml": followRules + "    mode: " + tt.mode + "\n"})
			if err != nil {
				t.Fatal(err)
			}
			e := &Engine{opts: Options{Budget: -1}, log: discard(), st: newStore(), stats: map[string]*ruleStats{}}
			e.publish(rs)
			ctx := context.Background()
			for i, at := range []time.Duration{0, time.Minute} {
				if v := e.Evaluate(ctx, follow("e", "a", t0.Add(at))); len(v.Hits) != 0 || v.Action != warden.ActionAllow {
					t.Fatalf("follow %d: %+v", i+1, v)
				}
			}
			v := e.Evaluate(ctx, follow("e3", "a", t0.Add(2*time.Minute)))
			want := []warden.Hit{{Rule: "follow_burst", Version: 4, Action: warden.ActionBlock, Mode: tt.wantMode, Reason: "3 follows by a", Category: warden.CategoryOther, Case: warden.CaseAccount}}
			if v.Action != tt.wantAction || !reflect.DeepEqual(v.Hits, want) || v.EventID != "e3" {
				t.Fatalf("third follow: %+v", v)
			}
			if v.Score < 0 || v.Score > 1 {
				t.Fatalf("score %v outside [0,1]", v.Score)
			}
			// Another actor, and the same actor after the window, start afresh.
			if v := e.Evaluate(ctx, follow("e4", "b", t0.Add(3*time.Minute))); len(v.Hits) != 0 {
				t.Fatalf("another actor: %+v", v)
			}
			if v := e.Evaluate(ctx, follow("e5", "a", t0.Add(30*time.Minute))); len(v.Hits) != 0 {
				t.Fatalf("after the window: %+v", v)
			}
			if got := e.Rules()[0].Hits; got != 1 {
				t.Fatalf("rule status reports %d hits, want 1", got)
			}
		})
	}
}

// TestPureEvaluationMatchesCommitted checks that evaluating without
// committing and then applying the updates gives the same verdicts as the
// fused path the engine uses.
func TestPureEvaluationMatchesCommitted(t *testing.T) {
	rs, err := CompileDir("", CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stA, stB := newStore(), newStore()
	ctx := context.Background()
	for i, ev := range synthEvents(40000) {
		a := rs.evaluate(ctx, &ev, stA, nil, 0, false, hooks{})
		a.apply(stA, ev.Time)
		b := rs.evaluate(ctx, &ev, stB, nil, 0, true, hooks{})
		if len(b.Updates) != 0 {
			t.Fatal("the fused path returned updates to apply")
		}
		if !reflect.DeepEqual(a.Verdict, b.Verdict) {
			t.Fatalf("event %d: pure %+v, fused %+v", i, a.Verdict, b.Verdict)
		}
	}
}

func TestPanickingLabelsAreContained(t *testing.T) {
	rs, err := Compile(fstest.MapFS{"r.yaml": {Data: []byte(`
rules:
  - {name: labelled, when: 'has_label(actor, "x")', action: block}
  - {name: always, when: 'type == "follow"', action: review}
`)}}, CompileOptions{Labels: panicky{}})
	if err != nil {
		t.Fatal(err)
	}
	res := rs.evaluate(context.Background(), follow("e", "a", t0), newStore(), nil, 0, true, hooks{})
	if res.Errors != 1 || res.Verdict.Action != warden.ActionReview || len(res.Verdict.Hits) != 1 {
		t.Fatalf("want the panicking rule contained and the other to hit: %+v", res)
	}
}

type panicky struct{}

func (panicky) Has(string, string) bool { panic("label store down") }

func TestBudgetFailsOpen(t *testing.T) {
	rs, err := Compile(fstest.MapFS{"r.yaml": {Data: []byte(`
rules:
  - {name: slow, when: 'has_label(actor, "x")', action: block}
  - {name: a, when: 'type == "follow" && actor != "x" && target != "y" && device != "z" && ip != "w"', action: block}
  - {name: b, when: 'type == "follow" && actor != "x" && target != "y" && device != "z" && ip != "w"', action: block}
  - {name: c, when: 'type == "follow" && actor != "x" && target != "y" && device != "z" && ip != "w"', action: block}
  - {name: d, when: 'type == "follow" && actor != "x" && target != "y" && device != "z" && ip != "w"', action: block}
`)}}, CompileOptions{Labels: sleepy{}})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	e := &Engine{opts: Options{Budget: time.Millisecond}, log: discard(), st: newStore(), stats: map[string]*ruleStats{}}
	e.m = newMetrics(reg, e)
	e.publish(rs)
	v := e.Evaluate(context.Background(), follow("e", "a", t0))
	if v.Action != warden.ActionAllow {
		t.Fatalf("over budget the verdict is %v; want allow (fail open)", v.Action)
	}
	if n := gathered(t, reg, "warden_engine_budget_exceeded_total"); n != 1 {
		t.Fatalf("budget metric is %v, want 1", n)
	}
}

type sleepy struct{}

func (sleepy) Has(string, string) bool { time.Sleep(5 * time.Millisecond); return false }

func writeRules(t *testing.T, dir, text string) {
	t.Helper()
	p := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	// Make sure the modification time moves even on coarse clocks.
	next := time.Now().Add(time.Duration(len(text)) * time.Second)
	if err := os.Chtimes(p, next, next); err != nil {
		t.Fatal(err)
	}
}

func TestHotSwapUnderLoad(t *testing.T) {
	dir := t.TempDir()
	writeRules(t, dir, followRules)
	e, err := Open(Options{RulesDir: dir, Poll: time.Millisecond, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()

	var bad atomic.Int64
	var n atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				ev := follow("e", string(rune('a'+w)), t0.Add(time.Duration(i)*time.Second))
				v := e.Evaluate(ctx, ev)
				n.Add(1)
				if v.EventID != "e" || v.Hits == nil || v.Score < 0 || v.Score > 1 {
					bad.Add(1)
				}
			}
		}(w)
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(time.Millisecond)
		}
	}
	version := func() int {
		rs := e.Rules()
		if len(rs) != 1 {
			t.Fatalf("the live set has %d rules, want 1", len(rs))
		}
		return rs[0].Version
	}
	// A good change swaps in; a bad one is rejected and the good one runs on.
	writeRules(t, dir, strings.Replace(followRules, "version: 4", "version: 5", 1))
	waitFor("version 5", func() bool { return version() == 5 })
	writeRules(t, dir, strings.Replace(followRules, "follows_10m >= 3", "follows_10mm >= 3", 1))
	waitFor("a load error pointing at the typo", func() bool {
		err := e.LoadError()
		return err != nil && strings.Contains(err.Error(), "rules.yaml:7:11: unknown name follows_10mm: did you mean follows_10m?")
	})
	if version() != 5 {
		t.Fatal("the rejected set replaced the running one")
	}
	writeRules(t, dir, "")
	waitFor("the empty set's rejection", func() bool {
		err := e.LoadError()
		return err != nil && strings.Contains(err.Error(), "no rules")
	})
	writeRules(t, dir, strings.Replace(followRules, "version: 4", "version: 6", 1))
	waitFor("version 6", func() bool { return version() == 6 })
	if e.LoadError() != nil {
		t.Fatalf("load error %v after a good set loaded", e.LoadError())
	}
	close(stop)
	wg.Wait()
	cancel()
	<-done
	if bad.Load() != 0 || n.Load() == 0 {
		t.Fatalf("%d of %d evaluations during reloads were malformed", bad.Load(), n.Load())
	}
	if e.Rules()[0].Hits == 0 {
		t.Fatal("hit counts were lost across reloads")
	}
}

func TestStateSurvivesSaveAndLoad(t *testing.T) {
	dir := t.TempDir()
	writeRules(t, dir, followRules)
	ctx := context.Background()
	labels := &recordedPart{}
	e, err := Open(Options{RulesDir: dir, Parts: map[string]Part{"labels": labels}})
	if err != nil {
		t.Fatal(err)
	}
	e.Evaluate(ctx, follow("1", "a", t0))
	e.Evaluate(ctx, follow("2", "a", t0.Add(time.Second)))
	labels.data = "kept"
	var buf bytes.Buffer
	if err := e.SaveState(&buf); err != nil {
		t.Fatal(err)
	}
	e2, err := Open(Options{RulesDir: dir, Parts: map[string]Part{"labels": &recordedPart{}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e2.LoadState(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	if v := e2.Evaluate(ctx, follow("3", "a", t0.Add(2*time.Second))); v.Action != warden.ActionBlock {
		t.Fatalf("after a restore the third follow got %+v; the counter was forgotten", v)
	}
	if got := e2.opts.Parts["labels"].(*recordedPart).data; got != "kept" {
		t.Fatalf("a part restored as %q", got)
	}
	// A damaged stream leaves the state empty, not half-loaded.
	if err := e2.LoadState(bytes.NewReader(buf.Bytes()[:buf.Len()-3])); err == nil {
		t.Fatal("a truncated state loaded")
	}
	if v := e2.Evaluate(ctx, follow("4", "a", t0.Add(3*time.Second))); v.Action == warden.ActionBlock {
		t.Fatalf("after a refused load the state still counted earlier follows: %+v", v)
	}
}

// recordedPart is a Part holding one string.
type recordedPart struct{ data string }

func (p *recordedPart) WriteState(w io.Writer) error { _, err := io.WriteString(w, p.data); return err }
func (p *recordedPart) ReadState(r io.Reader) error {
	b, err := io.ReadAll(r)
	p.data = string(b)
	return err
}
func (p *recordedPart) Reset() { p.data = "" }

func TestReplayIsRepeatableAndDiffNamesChanges(t *testing.T) {
	evs := synthEvents(60000)
	cur, err := CompileDir("", CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var first, second []warden.Verdict
	ctx := context.Background()
	if _, err := Replay(ctx, cur, evs, nil, func(_ int, v warden.Verdict) { first = append(first, v) }, nil); err != nil {
		t.Fatal(err)
	}
	st, err := Replay(ctx, cur, evs, nil, func(_ int, v warden.Verdict) { second = append(second, v) }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(first, second) {
		t.Fatal("two replays of the same events gave different verdicts")
	}
	if st.Hits["follow_burst_new_account"] == 0 {
		t.Fatalf("the replay found no follow farm: %v", st.Hits)
	}

	// The candidate lowers one threshold: only that rule's verdicts change.
	cand := copyPack(t, "follow.yaml", "new_account && follows_10m >= 25", "new_account && follows_10m >= 10")
	rs2, err := CompileDir(cand, CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Diff(ctx, cur, rs2, evs, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Changed == 0 || len(rep.ByRule) == 0 || rep.ByRule[0].Rule != "follow_burst_new_account" || rep.ByRule[0].Added == 0 || rep.ByRule[0].Removed != 0 {
		t.Fatalf("diff does not name the lowered rule first: %+v", rep.ByRule)
	}
	for _, c := range rep.Changes {
		if len(c.Added) == 0 && len(c.Removed) == 0 && c.Before == c.After {
			t.Fatalf("a listed change changes nothing: %+v", c)
		}
	}
	same, err := Diff(ctx, cur, cur, evs, nil, nil)
	if err != nil || same.Changed != 0 {
		t.Fatalf("a set diffed against itself changes %d verdicts (%v)", same.Changed, err)
	}
}

// TestReplayRunsDetectors checks that a replay with detectors gives rules
// their detect.* features, as serving does, that it repeats exactly with
// fixed detector hashing, and that a replay without detectors gives none.
func TestReplayRunsDetectors(t *testing.T) {
	evs, _ := synth.Collect(synth.Config{Seed: 3, Accounts: 5000, Rate: 50, Kinds: []string{synth.Lockstep}, Every: 2 * time.Minute}, 10*time.Minute)
	cur, err := CompileDir("", CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var runs [2][]warden.Verdict
	var with ReplayStats
	for i := range runs {
		with, err = Replay(ctx, cur, evs, detect.New(detect.Config{HashSeed: 1}), func(_ int, v warden.Verdict) { runs[i] = append(runs[i], v) }, nil)
		if err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(runs[0], runs[1]) {
		t.Fatal("two replays with detectors hashed alike gave different verdicts")
	}
	without, err := Replay(ctx, cur, evs, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if with.Hits["lockstep_detector"] == 0 || without.Hits["lockstep_detector"] != 0 {
		t.Fatalf("lockstep_detector hits: %d with detectors, %d without; want some, then none", with.Hits["lockstep_detector"], without.Hits["lockstep_detector"])
	}
}

// copyPack copies the built-in pack to a temporary directory, replacing old
// with new in file.
func copyPack(t *testing.T, file, old, new string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, packFS()); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, file)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s does not contain %q", file, old)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestDecodeEventsSortsAndReportsLines(t *testing.T) {
	good := `{"id":"b","type":"follow","time":"2026-01-05T12:00:02Z","actor":"a"}
{"id":"a","type":"follow","time":"2026-01-05T12:00:01Z","actor":"a"}
`
	evs, err := DecodeEvents(strings.NewReader(good))
	if err != nil || len(evs) != 2 || evs[0].ID != "a" {
		t.Fatalf("got %v, %v", evs, err)
	}
	_, err = DecodeEvents(strings.NewReader(good + `{"id":"c","type":"follow","time":"yesterday","actor":"a"}` + "\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "line 3:") {
		t.Fatalf("error %v does not name line 3", err)
	}
	var e *Error
	if errors.As(err, &e) {
		t.Fatal("a decode error is not a rule error")
	}
}

// gathered returns the value of the counter named name in reg.
func gathered(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) > 0 {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

func TestEffectsAreHandedOverOncePerEntity(t *testing.T) {
	dir := t.TempDir()
	writeRules(t, dir, `
rules:
  - {name: a, when: 'type == "follow"', action: review, labels: [{label: watch, ttl: 24h}, {entity: target, label: watched}]}
  - {name: b, when: 'type == "follow"', action: block, mode: shadow, labels: [{label: watch}]}
`)
	var got []Effect
	e, err := Open(Options{RulesDir: dir, OnEffects: func(_ *warden.Event, fx []Effect) { got = append(got, fx...) }})
	if err != nil {
		t.Fatal(err)
	}
	v := e.Evaluate(context.Background(), follow("e1", "alice", t0))
	if v.Action != warden.ActionReview || len(v.Hits) != 2 {
		t.Fatalf("verdict %+v", v)
	}
	want := []Effect{
		{Rule: "a", Version: 1, Mode: "enforce", Kind: "label", Entity: "alice", Label: "watch", TTL: 24 * time.Hour},
		{Rule: "a", Version: 1, Mode: "enforce", Kind: "label", Entity: "t", Label: "watched"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("effects %+v, want %+v (the shadow rule's duplicate label dropped)", got, want)
	}
	top := e.TopRules(5)
	if len(top) != 2 || top[0].RecentHits != 1 {
		t.Fatalf("top rules %+v", top)
	}
}

// Rules declare what they are about; the built-in scam rules route their
// cases to the scams queue whatever their names say.
func TestBuiltInRulesDeclareCategories(t *testing.T) {
	e, err := Open(Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range e.Rules() {
		got[r.Name] = r.Category
	}
	for name, want := range map[string]string{
		"denied_domain": warden.CategoryScam, "link_dm_burst": warden.CategoryScam, "copy_paste_link_wave": warden.CategoryScam,
		"ato_link_messages": warden.CategoryScam, "new_account_dms_strangers_with_links": warden.CategoryScam,
		"lockstep_detector": warden.CategoryFakeProfile, "signup_burst_ip": warden.CategoryFakeProfile,
		"credential_stuffing_ip": warden.CategoryOther,
	} {
		if got[name] != want {
			t.Errorf("rule %s has category %q, want %q", name, got[name], want)
		}
	}
	dir := t.TempDir()
	writeRules(t, dir, strings.Replace(followRules, "version: 4", "version: 4\n    category: spam", 1))
	if _, err := CompileDir(dir, CompileOptions{}); err == nil || !strings.Contains(err.Error(), `category "spam"`) {
		t.Fatalf("an unknown category compiled: %v", err)
	}
}

// A shadow rule promoted to enforce: the preview replays the events and
// names the verdicts that would change; SetModes then makes it bite, and a
// bad mode changes nothing.
func TestPromoteShadowRule(t *testing.T) {
	dir := t.TempDir()
	writeRules(t, dir, followRules+"    mode: shadow\n")
	e, err := Open(Options{RulesDir: dir, Budget: -1})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var evs []warden.Event
	for i := range 5 {
		evs = append(evs, *follow(fmt.Sprintf("p%d", i), "a", t0.Add(time.Duration(i)*time.Minute)))
	}
	rep, err := e.PreviewMode(context.Background(), "follow_burst", warden.ModeEnforce, evs)
	if err != nil || rep.Events != 5 || rep.Changed != 3 || rep.Changes[0].Before != "allow" || rep.Changes[0].After != "block" {
		t.Fatalf("preview %+v, %v", rep, err)
	}
	if _, err := e.PreviewMode(context.Background(), "nope", warden.ModeEnforce, evs); warden.ErrorCode(err) != warden.ENOTFOUND {
		t.Fatalf("unknown rule: %v", err)
	}
	ctx := context.Background()
	for i := range 3 {
		e.Evaluate(ctx, follow(fmt.Sprintf("q%d", i), "b", t0.Add(time.Duration(i)*time.Second)))
	}
	if v := e.Evaluate(ctx, follow("q3", "b", t0.Add(3*time.Second))); v.Action != warden.ActionAllow {
		t.Fatalf("shadow rule acted: %+v", v)
	}
	if err := e.SetModes(map[string]string{"follow_burst": "sometimes"}); err == nil {
		t.Fatal("a bad mode was accepted")
	}
	if err := e.SetModes(map[string]string{"follow_burst": warden.ModeEnforce}); err != nil {
		t.Fatal(err)
	}
	if v := e.Evaluate(ctx, follow("q4", "b", t0.Add(4*time.Second))); v.Action != warden.ActionBlock {
		t.Fatalf("promoted rule did not act: %+v", v)
	}
	if rs := e.Rules(); rs[0].Mode != warden.ModeEnforce {
		t.Fatalf("rules list mode %q", rs[0].Mode)
	}
}
