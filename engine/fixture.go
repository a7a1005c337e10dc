package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/detect"
	"github.com/wardenhq/warden/engine/state"
)

// Fixture files (*.test.yaml) hold event sequences with the verdicts and
// hits they must produce. Each test runs through a fresh state.
//
//	tests:
//	  - name: twelve signups from one address
//	    events:
//	      - {type: signup, actor: "bot{{i}}", ip: 203.0.113.9, repeat: 12, every: 20s}
//	      - type: follow
//	        actor: bot11
//	        target: u1
//	        expect: {action: block, hits: [signup_burst_ip]}
type fixtureFile struct {
	name  string
	Start time.Time `yaml:"start"`
	// Defaults fill the fields an event leaves empty, attrs key by key.
	Defaults fixtureEvent `yaml:"defaults"`
	// Partners are the values partner platforms list for the file's
	// tests (partner_listed, partner_trust).
	Partners []FixtureListing `yaml:"partners"`
	Tests    []fixtureTest    `yaml:"tests"`
}

type fixtureTest struct {
	Name   string         `yaml:"name"`
	Events []fixtureEvent `yaml:"events"`
}

type fixtureEvent struct {
	ID         string         `yaml:"id"`
	Type       string         `yaml:"type"`
	Actor      string         `yaml:"actor"`
	Target     string         `yaml:"target"`
	TargetKind string         `yaml:"target_kind"`
	IP         string         `yaml:"ip"`
	Device     string         `yaml:"device"`
	Country    string         `yaml:"country"`
	Text       string         `yaml:"text"`
	Attrs      map[string]any `yaml:"attrs"`
	// Age sets attrs.account_created to the event time minus Age.
	Age    string         `yaml:"age"`
	Repeat int            `yaml:"repeat"`
	Every  string         `yaml:"every"` // between repeats; default 1s
	After  string         `yaml:"after"` // before this entry; default 1s
	Detect *fixtureDetect `yaml:"detect"`
	Expect *fixtureExpect `yaml:"expect"`
}

type fixtureDetect struct {
	BotScore        float64 `yaml:"bot_score"`
	DupTextAccounts int     `yaml:"dup_text_accounts"`
	LockstepGroup   int     `yaml:"lockstep_group"`
	LinkedAccounts  int     `yaml:"linked_accounts"`
	LinkedNewShare  float64 `yaml:"linked_new_share"`
}

// fixtureExpect applies to the last event of its entry.
type fixtureExpect struct {
	Action string   `yaml:"action"`
	Hits   []string `yaml:"hits"`   // rules that must hit
	Absent []string `yaml:"absent"` // rules that must not hit
	None   bool     `yaml:"none"`   // no rule may hit
}

var fixtureStart = time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC)

func readFixtures(fsys fs.FS) ([]fixtureFile, Errors) {
	var out []fixtureFile
	var errs Errors
	_ = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !isFixtureFile(p) {
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			errs = append(errs, &Error{File: p, Msg: err.Error()})
			return nil
		}
		f, err := parseFixture(p, data)
		if err != nil {
			errs = append(errs, yamlError(p, err))
			return nil
		}
		out = append(out, f)
		return nil
	})
	return out, errs
}

func parseFixture(name string, data []byte) (fixtureFile, error) {
	f := fixtureFile{name: name}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return f, err
	}
	if f.Start.IsZero() {
		f.Start = fixtureStart
	}
	for i, l := range f.Partners {
		if l.Kind == "" || l.Value == "" || l.Partner == "" || trustLevel(l.Trust) == TrustNone {
			return f, fmt.Errorf("partners[%d]: a listing has kind, value, partner and trust (low, medium or high)", i)
		}
	}
	for _, t := range f.Tests {
		if t.Name == "" {
			return f, fmt.Errorf("every test needs a name")
		}
		for i, e := range t.Events {
			for _, d := range []string{e.Every, e.After, e.Age} {
				if _, err := parseDur(d); err != nil {
					return f, fmt.Errorf("test %q event %d: %v", t.Name, i+1, err)
				}
			}
			if e.Expect != nil && e.Expect.Action != "" {
				if _, err := warden.ParseAction(e.Expect.Action); err != nil {
					return f, fmt.Errorf("test %q event %d: %s", t.Name, i+1, warden.ErrorMessage(err))
				}
			}
		}
	}
	return f, nil
}

func parseDur(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration: %s", s, durationUnits)
	}
	return d, nil
}

// FixtureResult is the outcome of one fixture test.
type FixtureResult struct {
	File     string
	Test     string
	Events   int
	Failures []string // empty when the test passed
}

// Passed reports whether the test passed.
func (r FixtureResult) Passed() bool { return len(r.Failures) == 0 }

// Fixtures reports how many fixture tests the rule set carries.
func (rs *RuleSet) Fixtures() int {
	n := 0
	for _, f := range rs.fixtures {
		n += len(f.Tests)
	}
	return n
}

// RunFixtures runs every fixture test of the rule set, each through fresh
// state, and reports each test's outcome.
func (rs *RuleSet) RunFixtures() []FixtureResult {
	var out []FixtureResult
	for _, f := range rs.fixtures {
		for _, t := range f.Tests {
			out = append(out, rs.runFixture(f, t))
		}
	}
	return out
}

func expand(s string, i int) string {
	if !strings.Contains(s, "{{i}}") {
		return s
	}
	return strings.ReplaceAll(s, "{{i}}", strconv.Itoa(i))
}

func (rs *RuleSet) runFixture(f fixtureFile, t fixtureTest) FixtureResult {
	res := FixtureResult{File: f.name, Test: t.Name}
	st := state.New()
	at := f.Start
	n := 0
	for ei, fe := range t.Events {
		fe = withDefaults(fe, f.Defaults)
		after, _ := parseDur(fe.After)
		if after == 0 && ei > 0 {
			after = time.Second
		}
		at = at.Add(after)
		every, _ := parseDur(fe.Every)
		if every == 0 {
			every = time.Second
		}
		age, _ := parseDur(fe.Age)
		reps := max(fe.Repeat, 1)
		var last Result
		for i := 0; i < reps; i++ {
			if i > 0 {
				at = at.Add(every)
			}
			n++
			ev := warden.Event{
				ID: expand(fe.ID, i), Type: fe.Type, Time: at, Actor: expand(fe.Actor, i),
				Target: expand(fe.Target, i), TargetKind: fe.TargetKind, IP: expand(fe.IP, i),
				Device: expand(fe.Device, i), Country: fe.Country, Text: expand(fe.Text, i),
			}
			if ev.ID == "" {
				ev.ID = "t" + strconv.Itoa(n)
			}
			if ev.Actor == "" {
				ev.Actor = "user"
			}
			if ev.Target != "" && ev.TargetKind == "" {
				ev.TargetKind = warden.TargetAccount
			}
			if len(fe.Attrs) > 0 || fe.Age != "" {
				ev.Attrs = map[string]any{}
				for k, v := range fe.Attrs {
					switch v := v.(type) {
					case int:
						ev.Attrs[k] = float64(v)
					case string:
						ev.Attrs[k] = expand(v, i)
					default:
						ev.Attrs[k] = v
					}
				}
				if fe.Age != "" {
					ev.Attrs["account_created"] = at.Add(-age).Format(time.RFC3339)
				}
			}
			if err := ev.Validate(""); err != nil {
				res.Failures = append(res.Failures, fmt.Sprintf("event %d is not a valid event: %s", n, warden.ErrorMessage(err)))
				return res
			}
			var feats *detect.Features
			if fe.Detect != nil {
				feats = &detect.Features{BotScore: fe.Detect.BotScore, DupTextAccounts: fe.Detect.DupTextAccounts,
					LockstepGroup: fe.Detect.LockstepGroup, LinkedAccounts: fe.Detect.LinkedAccounts, LinkedNewShare: fe.Detect.LinkedNewShare}
			}
			var h hooks
			if len(f.Partners) > 0 {
				h.partners = fixturePartners(f.Partners)
			}
			last = rs.evaluate(context.Background(), &ev, st, feats, 0, false, h)
			last.apply(st, ev.Time)
		}
		if fe.Expect != nil {
			res.Failures = append(res.Failures, check(fe.Expect, last.Verdict, n)...)
		}
	}
	res.Events = n
	return res
}

func withDefaults(e, d fixtureEvent) fixtureEvent {
	for _, p := range [...][2]*string{{&e.Actor, &d.Actor}, {&e.IP, &d.IP}, {&e.Device, &d.Device},
		{&e.Country, &d.Country}, {&e.Age, &d.Age}, {&e.Type, &d.Type}, {&e.Text, &d.Text}} {
		if *p[0] == "" {
			*p[0] = *p[1]
		}
	}
	if len(d.Attrs) > 0 {
		attrs := maps.Clone(d.Attrs)
		maps.Copy(attrs, e.Attrs)
		e.Attrs = attrs
	}
	return e
}

func check(x *fixtureExpect, v warden.Verdict, n int) []string {
	var fails []string
	names := make([]string, len(v.Hits))
	for i, h := range v.Hits {
		names[i] = h.Rule
	}
	got := fmt.Sprintf("got action %s with hits [%s]", v.Action, strings.Join(names, ", "))
	if x.Action != "" && v.Action.String() != x.Action {
		fails = append(fails, fmt.Sprintf("event %d: want action %s, %s", n, x.Action, got))
	}
	for _, h := range x.Hits {
		if !slices.Contains(names, h) {
			fails = append(fails, fmt.Sprintf("event %d: want a hit from %s, %s", n, h, got))
		}
	}
	for _, h := range x.Absent {
		if slices.Contains(names, h) {
			fails = append(fails, fmt.Sprintf("event %d: want no hit from %s, %s", n, h, got))
		}
	}
	if x.None && len(names) > 0 {
		fails = append(fails, fmt.Sprintf("event %d: want no hits, %s", n, got))
	}
	return fails
}

// Uncovered lists the rules (disabled ones aside) that no fixture expects a
// hit from, in file order: rules whose behaviour nothing pins down.
func (rs *RuleSet) Uncovered() []string {
	covered := map[string]bool{}
	for _, f := range rs.fixtures {
		for _, t := range f.Tests {
			for _, e := range t.Events {
				if e.Expect != nil {
					for _, h := range e.Expect.Hits {
						covered[h] = true
					}
				}
			}
		}
	}
	var out []string
	for _, r := range rs.rules {
		if r.mode != modeDisabled && !covered[r.name] {
			out = append(out, r.name)
		}
	}
	return out
}
