package messaging

import (
	"context"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"strings"
	"testing"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/survey"
)

var testSalt = []byte("0123456789abcdef0123456789abcdef")

func fieldOf(err error) string {
	if e, ok := err.(*warden.Error); ok {
		return e.Field
	}
	return ""
}

// TestDefaults: the built-in file is valid and has a control arm beside
// every message's variants.
func TestDefaults(t *testing.T) {
	es := Defaults()
	if len(es) == 0 {
		t.Fatal("no built-in experiment")
	}
	m, ok := es[0].For("US")
	if !ok || m.Arms()[0] != Control || len(m.Arms()) != len(m.Variants)+1 {
		t.Fatalf("US: %+v %v", m, ok)
	}
	if _, ok := es[0].For("DE"); !ok {
		t.Error("no EU message")
	}
}

// TestAssignmentDeterministicAndBalanced: a user always gets the same arm;
// over 30,000 users the arms are within 4 standard deviations of equal
// shares; another seed reshuffles about (k-1)/k of the users.
func TestAssignmentDeterministicAndBalanced(t *testing.T) {
	e := Defaults()[0]
	m, _ := e.For("US")
	arms := m.Arms()
	const n = 30_000
	count := map[string]int{}
	first := make([]string, n)
	for i := range n {
		p := survey.HashID(testSalt, fmt.Sprintf("user-%d", i))
		first[i] = e.Arm(m, p)
		if again := e.Arm(m, p); again != first[i] {
			t.Fatalf("user %d: %s then %s", i, first[i], again)
		}
		count[first[i]]++
	}
	k := float64(len(arms))
	sd := math.Sqrt(n * (1 / k) * (1 - 1/k))
	for _, a := range arms {
		if d := math.Abs(float64(count[a]) - n/k); d > 4*sd {
			t.Errorf("arm %s: %d of %d (expected %.0f ± %.0f)", a, count[a], n, n/k, sd)
		}
	}
	other := e
	other.Seed++
	moved := 0
	for i := range n {
		if other.Arm(m, survey.HashID(testSalt, fmt.Sprintf("user-%d", i))) != first[i] {
			moved++
		}
	}
	if want := n * (k - 1) / k; math.Abs(float64(moved)-want) > 4*math.Sqrt(want) {
		t.Errorf("another seed moved %d users, want about %.0f", moved, want)
	}
	a := Assign([]Experiment{e}, survey.HashID(testSalt, "user-1"), "US")
	if a.Experiment != e.ID || a.Variant != first[1] || a.Show == a.Control || (a.Show && a.Text == "") {
		t.Errorf("assignment %+v", a)
	}
	if a := Assign([]Experiment{e}, "x", "BR"); a.Experiment != "" || a.Show {
		t.Errorf("no experiment in BR: %+v", a)
	}
	stopped := e
	stopped.Stopped = true
	if a := Assign([]Experiment{stopped}, "x", "US"); a.Experiment != "" || a.Show {
		t.Errorf("stopped: %+v", a)
	}
}

const resultsCodebook = `
platform_id: pid
trust: trust
scales: {agree5: {min: 1, max: 5}}
items: [{name: trust, scale: agree5}]
`

// syntheticWave is a wave of n respondents in US with platform ids, whose
// trust (1..5) is a latent normal score raised by lift[arm] for their arm.
func syntheticWave(t *testing.T, e *Experiment, n int, seed uint64, lift map[string]float64) *survey.Wave {
	t.Helper()
	cb, err := survey.ParseCodebook([]byte(resultsCodebook))
	if err != nil {
		t.Fatal(err)
	}
	m, _ := e.For("US")
	r := mrand.New(mrand.NewPCG(seed, 99))
	var b strings.Builder
	b.WriteString("region,pid,trust\n")
	for i := range n {
		id := fmt.Sprintf("s%d-user-%d", seed, i)
		arm := e.Arm(m, survey.HashID(testSalt, id))
		v := math.Round(3.1 + lift[arm] + 1.1*r.NormFloat64())
		fmt.Fprintf(&b, "US,%s,%d\n", id, int(math.Max(1, math.Min(5, v))))
	}
	w, err := survey.ParseWave("synthetic", cb, strings.NewReader(b.String()), testSalt)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestResultsDetectLift: in synthetic waves where one variant truly raises
// trust (+0.35 on the latent score) and another does nothing, the first is
// flagged significant against control in every seed and the null one in
// few (5 % expected: at most 4 of 40).
func TestResultsDetectLift(t *testing.T) {
	e := Experiment{ID: "lift-test", Seed: 7, Messages: []Message{{Regions: []string{"US"}, Variants: []Variant{
		{ID: "real", Text: "We remove scam accounts within a day."}, {ID: "null", Text: "We are a platform."}}}}}
	if err := e.Validate(); err != nil {
		t.Fatal(err)
	}
	falsePos := 0
	for seed := range uint64(40) {
		w := syntheticWave(t, &e, 2400, seed, map[string]float64{"real": 0.35})
		res := Analyze(&e, w)
		arms := res.Messages[0].Arms
		if arms[0].Variant != Control || arms[1].Variant != "real" || arms[2].Variant != "null" {
			t.Fatalf("arms %+v", arms)
		}
		total := 0
		for _, a := range arms {
			total += a.N
		}
		if total != 2400 {
			t.Fatalf("seed %d: %d respondents in arms, want 2400", seed, total)
		}
		real, null := arms[1].VsControl, arms[2].VsControl
		if !real.Mean.Significant || !real.TopBox.Significant || real.Mean.Diff < 0.15 {
			t.Errorf("seed %d: real lift not detected: %+v", seed, real)
		}
		if null.TopBox.Significant {
			falsePos++
		}
	}
	if falsePos > 4 {
		t.Errorf("the null variant was significant in %d of 40 seeds", falsePos)
	}
	t.Logf("null variant flagged in %d of 40 seeds", falsePos)
}

// TestValidateRefuses: every bad experiment is refused naming the field.
func TestValidateRefuses(t *testing.T) {
	good := func() Experiment {
		return Experiment{ID: "x", Seed: 1, Messages: []Message{{Regions: []string{"US"}, Variants: []Variant{{ID: "a", Text: "Hello."}}},
			{Regions: []string{"UK", "FR"}, Variants: []Variant{{ID: "b", Text: "Bonjour."}}}}}
	}
	g := good()
	if err := g.Validate(); err != nil || g.Messages[1].Regions[0] != "GB" {
		t.Fatalf("good: %v %v", err, g.Messages[1].Regions)
	}
	for field, edit := range map[string]func(*Experiment){
		"id":                         func(e *Experiment) { e.ID = "Has Spaces" },
		"messages":                   func(e *Experiment) { e.Messages = nil },
		"messages[0].regions":        func(e *Experiment) { e.Messages[0].Regions = nil },
		"messages[0].regions[0]":     func(e *Experiment) { e.Messages[0].Regions[0] = "EU" },
		"messages[1].regions[1]":     func(e *Experiment) { e.Messages[1].Regions[1] = "US" },
		"messages[0].variants":       func(e *Experiment) { e.Messages[0].Variants = nil },
		"messages[0].variants[0].id": func(e *Experiment) { e.Messages[0].Variants[0].ID = Control },
		"messages[1].variants[0].id": func(e *Experiment) { e.Messages[1].Variants[0].ID = "a" },
		"messages[0].variants[0].text": func(e *Experiment) {
			e.Messages[0].Variants[0].Text = "Questions? Write to help@example.com"
		},
	} {
		e := good()
		edit(&e)
		if err := e.Validate(); fieldOf(err) != field {
			t.Errorf("%s: got %v", field, err)
		}
	}
}

type memStore struct{ es []Experiment }

func (m *memStore) MessageExperiments(context.Context) ([]Experiment, error) { return m.es, nil }
func (m *memStore) SaveMessageExperiment(_ context.Context, e Experiment, _ string) (bool, error) {
	for i := range m.es {
		if m.es[i].ID == e.ID {
			m.es[i] = e
			return false, nil
		}
	}
	m.es = append(m.es, e)
	return true, nil
}

// TestServicePut: a stored experiment replaces the built-in one of its id;
// a new one in a region another runs is a conflict until that one stops.
func TestServicePut(t *testing.T) {
	ctx := context.Background()
	svc := New(&memStore{}, testSalt)
	def := Defaults()[0]
	def.Seed = 99
	if created, err := svc.Put(ctx, def, "ada"); err != nil || !created {
		t.Fatalf("put default: %v %v", created, err)
	}
	es, _ := svc.Experiments(ctx)
	if len(es) != 1 || es[0].Seed != 99 {
		t.Fatalf("effective %+v", es)
	}
	us := Experiment{ID: "us-only", Seed: 1, Messages: []Message{{Regions: []string{"US"}, Variants: []Variant{{ID: "u", Text: "Hi."}}}}}
	if _, err := svc.Put(ctx, us, "ada"); warden.ErrorCode(err) != warden.ECONFLICT {
		t.Fatalf("overlap: %v", err)
	}
	def.Stopped = true
	if _, err := svc.Put(ctx, def, "ada"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Put(ctx, us, "ada"); err != nil {
		t.Fatalf("after stopping: %v", err)
	}
	a, err := svc.Assign(ctx, "user-1", "US")
	if err != nil || a.Experiment != "us-only" {
		t.Fatalf("%+v %v", a, err)
	}
	if _, err := svc.Assign(ctx, "user-1", "usa"); fieldOf(err) != "region" {
		t.Errorf("bad region: %v", err)
	}
	if _, err := New(&memStore{}, nil).Assign(ctx, "user-1", "US"); warden.ErrorCode(err) != warden.EUNAVAILABLE {
		t.Errorf("no salt: %v", err)
	}
}

// FuzzDecodeJSON: a body is an experiment that passes validation again
// or an *warden.Error, never a panic.
func FuzzDecodeJSON(f *testing.F) {
	f.Add(`{"id":"x","seed":1,"messages":[{"regions":["US"],"variants":[{"id":"a","text":"Hi."}]}]}`)
	f.Add(`{"id":"x","messages":[{"regions":["UK","GB"]}]}`)
	f.Add(`{"id":"x","extra":1}`)
	f.Fuzz(func(t *testing.T, body string) {
		e, err := DecodeJSON([]byte(body))
		if err != nil {
			if _, ok := err.(*warden.Error); !ok {
				t.Fatalf("not a *warden.Error: %v", err)
			}
			return
		}
		if err := e.Validate(); err != nil {
			t.Fatalf("accepted then refused: %v", err)
		}
	})
}

// FuzzParseYAML: an experiments file is read (valid, no region in two
// running experiments) or refused, never a panic.
func FuzzParseYAML(f *testing.F) {
	f.Add(string(builtin))
	f.Add("experiments: [{id: a, messages: [{regions: [US], variants: [{id: v, text: t}]}]}, {id: b, messages: [{regions: [US], variants: [{id: w, text: t}]}]}]")
	f.Fuzz(func(t *testing.T, in string) {
		es, err := ParseYAML([]byte(in))
		if err != nil {
			return
		}
		for i, e := range es {
			if err := Overlap(e, es[:i]); err != nil {
				t.Fatalf("accepted overlapping %v", err)
			}
		}
	})
}
