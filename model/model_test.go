package model

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wardenhq/warden/datasets"
)

func TestAUC(t *testing.T) {
	for _, tc := range []struct {
		name  string
		y, s  []float64
		want  float64
		isNaN bool
	}{
		{name: "perfect", y: []float64{0, 0, 1, 1}, s: []float64{0.1, 0.2, 0.8, 0.9}, want: 1},
		{name: "inverted", y: []float64{0, 0, 1, 1}, s: []float64{0.9, 0.8, 0.2, 0.1}, want: 0},
		{name: "all tied", y: []float64{0, 1, 0, 1}, s: []float64{0.5, 0.5, 0.5, 0.5}, want: 0.5},
		{name: "one swap of four pairs", y: []float64{0, 0, 1, 1}, s: []float64{0.1, 0.6, 0.5, 0.9}, want: 0.75},
		{name: "one class", y: []float64{1, 1}, s: []float64{0.1, 0.9}, isNaN: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := AUC(tc.y, tc.s)
			if tc.isNaN != math.IsNaN(got) || (!tc.isNaN && math.Abs(got-tc.want) > 1e-12) {
				t.Fatalf("AUC = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCompute(t *testing.T) {
	// tp=3 fn=1 fp=2 tn=4
	y := []float64{1, 1, 1, 1, 0, 0, 0, 0, 0, 0}
	s := []float64{.9, .8, .7, .2, .6, .55, .1, .1, .1, .1}
	m := Compute(y, s)
	wantMCC := (3.0*4 - 2*1) / math.Sqrt(5*4*6*5)
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"accuracy", m.Accuracy, 0.7}, {"precision", m.Precision, 0.6}, {"recall", m.Recall, 0.75},
		{"f1", m.F1, 2 * 0.6 * 0.75 / 1.35}, {"mcc", m.MCC, wantMCC},
	} {
		if math.Abs(c.got-c.want) > 1e-12 {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestFoldsStratifiedAndSeeded(t *testing.T) {
	y := make([]float64, 103)
	for i := range y {
		if i%3 == 0 {
			y[i] = 1
		}
	}
	a, b, c := Folds(y, 5, 1), Folds(y, 5, 1), Folds(y, 5, 2)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatal("same seed, different folds")
	}
	if fmt.Sprint(a) == fmt.Sprint(c) {
		t.Fatal("different seeds, same folds")
	}
	var pos, all [5]int
	for i, f := range a {
		all[f]++
		if y[i] == 1 {
			pos[f]++
		}
	}
	for f := 0; f < 5; f++ {
		if pos[f] < 6 || pos[f] > 7 || all[f] < 20 || all[f] > 21 {
			t.Fatalf("fold %d has %d rows, %d bots: not stratified (%v %v)", f, all[f], pos[f], all, pos)
		}
	}
}

// synthetic returns n rows of 3 features: kind "xor" labels by x0>0 XOR
// x1>0 (no linear model can do it), "linear" by x0+x1>0; "missing" marks
// bots by a missing x2.
func synthetic(kind string, n int, seed uint64) ([][]float64, []float64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	X, y := make([][]float64, n), make([]float64, n)
	for i := range X {
		x := []float64{rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()}
		switch kind {
		case "xor":
			if (x[0] > 0) != (x[1] > 0) {
				y[i] = 1
			}
		case "linear":
			if x[0]+x[1] > 0 {
				y[i] = 1
			}
		case "missing":
			if rng.IntN(2) == 0 {
				y[i], x[2] = 1, math.NaN()
			}
		}
		X[i] = x
	}
	return X, y
}

func TestLearners(t *testing.T) {
	for _, tc := range []struct {
		data, learner string
		minAUC        float64
		maxAUC        float64
	}{
		{"xor", GBT, 0.95, 1},
		{"xor", LogReg, 0, 0.7}, // a linear model cannot separate XOR: the test would catch a leak
		{"linear", GBT, 0.95, 1},
		{"linear", LogReg, 0.98, 1},
		{"linear", Tree1, 0.85, 1},
		{"missing", GBT, 0.99, 1},
		{"missing", LogReg, 0.99, 1},
		{"missing", Tree1, 0.99, 1},
		{"xor", RF, 0.95, 1},
		{"linear", RF, 0.95, 1},
		{"missing", RF, 0.99, 1},
		{"xor", Blend, 0.95, 1},
		{"missing", Blend, 0.99, 1},
	} {
		t.Run(tc.data+"/"+tc.learner, func(t *testing.T) {
			X, y := synthetic(tc.data, 1500, 1)
			TX, Ty := synthetic(tc.data, 800, 2)
			m, err := Train(X, y, DefaultParams(tc.learner))
			if err != nil {
				t.Fatal(err)
			}
			s := make([]float64, len(TX))
			for i, x := range TX {
				s[i] = m.Score(x)
				if s[i] < 0 || s[i] > 1 || math.IsNaN(s[i]) {
					t.Fatalf("score %v outside 0..1", s[i])
				}
			}
			if auc := AUC(Ty, s); auc < tc.minAUC || auc > tc.maxAUC {
				t.Fatalf("held-out AUC %.3f, want %.2f..%.2f", auc, tc.minAUC, tc.maxAUC)
			}
		})
	}
}

func TestTreeDepthIsLimited(t *testing.T) {
	X, y := synthetic("xor", 2000, 3)
	m, _ := Train(X, y, DefaultParams(Tree1))
	var depth func(i, d int) int
	tr := m.Trees[0]
	depth = func(i, d int) int {
		if tr.Left[i] < 0 {
			return d
		}
		return max(depth(tr.Left[i], d+1), depth(tr.Right[i], d+1))
	}
	if d := depth(0, 0); d > DefaultParams(Tree1).Depth || d == 0 {
		t.Fatalf("baseline tree depth %d, want 1..%d", d, DefaultParams(Tree1).Depth)
	}
}

func TestModelFileRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	X := make([][]float64, 400)
	y := make([]float64, 400)
	for i := range X {
		x := make([]float64, len(Names))
		for j := range x {
			x[j] = rng.NormFloat64()
			if rng.IntN(10) == 0 {
				x[j] = math.NaN()
			}
		}
		X[i] = x
		if x[0] > 0.3 {
			y[i] = 1
		}
	}
	for _, l := range Learners {
		t.Run(l, func(t *testing.T) {
			m, err := Train(X, y, DefaultParams(l))
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := m.Write(&buf); err != nil {
				t.Fatal(err)
			}
			m2, err := Read(&buf)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range X[:50] {
				if m.Score(x) != m2.Score(x) {
					t.Fatalf("score changed through the file: %v vs %v", m.Score(x), m2.Score(x))
				}
			}
			// Reasons for a bot-like row name the feature the label depends on.
			x := append([]float64(nil), X[0]...)
			x[0] = 3
			rs := m2.Explain(x, 3)
			if m2.Score(x) < 0.5 || len(rs) == 0 || rs[0].Feature != 0 || rs[0].Text == "" {
				t.Fatalf("score %.2f, reasons %+v: want feature 0 first", m2.Score(x), rs)
			}
		})
	}
}

func TestReadRejects(t *testing.T) {
	good := func() *Model {
		X, y := make([][]float64, 40), make([]float64, 40)
		for i := range X {
			X[i] = make([]float64, len(Names))
			X[i][1] = float64(i)
			y[i] = float64(i % 2)
		}
		m, _ := Train(X, y, DefaultParams(Tree1))
		return m
	}
	for _, tc := range []struct {
		name  string
		edit  func(m *Model)
		raw   string
		wantE string
	}{
		{name: "other version", edit: func(m *Model) { m.Version = 99 }, wantE: "version 99"},
		{name: "other format", edit: func(m *Model) { m.Format = "x" }, wantE: "format"},
		{name: "other features", edit: func(m *Model) { m.Features = m.Features[1:] }, wantE: "features differ"},
		{name: "cyclic tree", edit: func(m *Model) { m.Trees[0].Left[0] = 0 }, wantE: "bad links"},
		{name: "unknown field", raw: `{"format":"warden.botmodel","bogus":1}`, wantE: "bogus"},
		{name: "not json", raw: `xx`, wantE: "model file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if tc.raw != "" {
				buf.WriteString(tc.raw)
			} else {
				m := good()
				if len(m.Trees[0].Left) < 2 {
					t.Fatal("test tree did not split")
				}
				tc.edit(m)
				m.Write(&buf)
			}
			if _, err := Read(&buf); err == nil || !strings.Contains(err.Error(), tc.wantE) {
				t.Fatalf("error %v, want %q", err, tc.wantE)
			}
		})
	}
}

func TestVectorAndDescribe(t *testing.T) {
	p := NewProfile()
	for c, v := range map[string]string{"created_at": "2020-01-01T00:00:00Z", "followers_count": "10", "friends_count": "1000",
		"screen_name": "Anna_Rossi", "name": "Anna Rossi 2", "description": "", "default_profile": "true",
		"favourites_count": "21", "listed_count": "0"} {
		if err := p.Set(c, v); err != nil {
			t.Fatal(err)
		}
	}
	p.KnowText(map[string]bool{"description": true})
	x := Vector(&p, nil, time.Date(2020, 1, 11, 0, 0, 0, 0, time.UTC), nil)
	if len(x) != len(Names) {
		t.Fatalf("%d features, %d names", len(x), len(Names))
	}
	want := map[string]float64{"log_age_days": math.Log1p(10), "description_len": 0, "default_profile": 1, "screen_name_digits": 0, "name_words": 3,
		"log_favourites_per_day": math.Log1p(21.0 / 11), "log_listed_per_day": 0, "name_digits": 1,
		"screen_name_upper_share": 0.2, "screen_name_distinct_share": 0.7, "screen_name_underscores": 1}
	for i, n := range Names {
		if w, ok := want[n]; ok && math.Abs(x[i]-w) > 1e-9 {
			t.Errorf("%s = %v, want %v", n, x[i], w)
		}
		if n == "gap_entropy" && !math.IsNaN(x[i]) {
			t.Errorf("gap_entropy known without actions: %v", x[i])
		}
		if d := Describe(i, 1); strings.HasPrefix(d, n+" =") {
			t.Errorf("feature %s has no description in words", n)
		}
	}
	if d := Describe(0, math.Log1p(12)); d != "12 followers" {
		t.Errorf("Describe = %q", d)
	}
}

func TestProfileSetRejects(t *testing.T) {
	p := NewProfile()
	for _, tc := range []struct{ col, v string }{{"followers_count", "-1"}, {"followers_count", "many"}, {"created_at", "2020"}, {"default_profile", "maybe"}} {
		if err := p.Set(tc.col, tc.v); err == nil {
			t.Errorf("Set(%s, %q) accepted", tc.col, tc.v)
		}
	}
}

func TestBehaviorFeatures(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	rng := rand.New(rand.NewPCG(1, 2))
	feature := func(b *Behavior, name string) float64 {
		p := NewProfile()
		x := Vector(&p, b, time.Unix(t0, 0), nil)
		for i, n := range Names {
			if n == name {
				return x[i]
			}
		}
		t.Fatalf("no feature %s", name)
		return 0
	}
	var clock, human Behavior
	tm := t0
	for i := 0; i < 300; i++ {
		clock.Add(Action{Time: t0 + int64(i)*600, Share: true, HasText: true, Link: true, Hash: SimHash("buy cheap followers now at this link http://x")})
		tm += int64(rng.ExpFloat64() * 5000)
		human.Add(Action{Time: tm, Share: i%5 == 0, HasText: true, Hash: SimHash(fmt.Sprintf("thinking about item %d and what %d friends said today", i, rng.IntN(1000)))})
	}
	for _, tc := range []struct {
		name           string
		clock, human   float64
		clockHigherThe bool
	}{
		{"gap_entropy", feature(&clock, "gap_entropy"), feature(&human, "gap_entropy"), false},
		{"hour_entropy", feature(&clock, "hour_entropy"), feature(&human, "hour_entropy"), true}, // every 10 min covers all hours evenly
		{"repost_share", feature(&clock, "repost_share"), feature(&human, "repost_share"), true},
		{"dup_text_share", feature(&clock, "dup_text_share"), feature(&human, "dup_text_share"), true},
		{"link_share", feature(&clock, "link_share"), feature(&human, "link_share"), true},
	} {
		if (tc.clock > tc.human) != tc.clockHigherThe || math.IsNaN(tc.clock) || math.IsNaN(tc.human) {
			t.Errorf("%s: clockwork %.3f, human %.3f", tc.name, tc.clock, tc.human)
		}
	}
	if v := feature(&clock, "dup_text_share"); v < 0.9 {
		t.Errorf("the same text 300 times has dup share %.2f", v)
	}
}

func TestSimHash(t *testing.T) {
	base := "Congrats you won a free phone, claim it now at http://a.b/1 before midnight"
	for _, tc := range []struct {
		other string
		near  bool
	}{
		{"congrats YOU won a free phone claim it now at https://zz.q/9 before midnight!", true},
		{"the committee meets on thursday to discuss the new budget for the library", false},
	} {
		if got := Near(SimHash(base), SimHash(tc.other)); got != tc.near {
			t.Errorf("Near(%q) = %v, want %v", tc.other, got, tc.near)
		}
	}
	if SimHash("so true") != 0 {
		t.Error("a two-word text got a hash")
	}
}

func TestParseAccounts(t *testing.T) {
	for _, tc := range []struct {
		name, csv, wantErr string
		n                  int
	}{
		{name: "minimal", csv: "account,label\na,bot\nb,human\n", n: 2},
		{name: "label case and spaces", csv: "account,label\na,Bot\nb, HUMAN\n", n: 2},
		{name: "extra columns ignored", csv: "account,label,dataset,followers_count\na,bot,x,5\n", n: 1},
		{name: "bad label", csv: "account,label\na,robot\n", wantErr: "accounts.csv:2: label \"robot\""},
		{name: "missing label column", csv: "account\na\n", wantErr: "no \"label\" column"},
		{name: "duplicate", csv: "account,label\na,bot\na,human\n", wantErr: "accounts.csv:3: account \"a\" already appeared on line 2"},
		{name: "bad count", csv: "account,label,friends_count\na,bot,x\n", wantErr: "accounts.csv:2: friends_count"},
		{name: "empty", csv: "", wantErr: "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds, err := ParseAccounts(strings.NewReader(tc.csv), "accounts.csv")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || len(ds.Accounts) != tc.n {
				t.Fatalf("%v, %d accounts", err, len(ds.Accounts))
			}
		})
	}
}

func TestReadEvents(t *testing.T) {
	ds, _ := ParseAccounts(strings.NewReader("account,label\na,bot\nb,human\n"), "accounts.csv")
	var buf bytes.Buffer
	for i := 0; i < 10; i++ {
		// Out of time order on purpose: the file may be in any order.
		fmt.Fprintf(&buf, `{"id":"e%d","type":"share","time":"2026-01-01T00:%02d:00Z","actor":"a","text":"same words over and over again"}`+"\n", i, 59-i*5)
	}
	buf.WriteString(`{"id":"x","type":"post","time":"2026-01-01T00:00:00Z","actor":"stranger"}` + "\n")
	if err := ds.ReadEvents(&buf, "events.jsonl"); err != nil {
		t.Fatal(err)
	}
	if ds.Events != 11 || ds.UnknownActors != 1 || ds.Behaviors[0] == nil || ds.Behaviors[1] != nil {
		t.Fatalf("events %d unknown %d behaviours %v %v", ds.Events, ds.UnknownActors, ds.Behaviors[0], ds.Behaviors[1])
	}
	if b := ds.Behaviors[0]; b.Gaps[9] != 9 { // 300 s gaps fall in the 256..511 s bin
		t.Fatalf("gaps %v: events not put in time order", b.Gaps)
	}
	bad := strings.NewReader(`{"id":"e1","type":"post","time":"2026-01-01T00:00:00Z","actor":"a"}` + "\n" + `{"id":"e2","type":"post","time":"noon","actor":"a"}` + "\n")
	if err := ds.ReadEvents(bad, "events.jsonl"); err == nil || !strings.Contains(err.Error(), "events.jsonl:2:") {
		t.Fatalf("error %v, want one naming line 2", err)
	}
}

func FuzzParseAccounts(f *testing.F) {
	f.Add("account,label,created_at,followers_count,default_profile\na,bot,2020-01-01T00:00:00Z,5,true\n")
	f.Add("account,label\n\"a\nb\",human\n")
	f.Fuzz(func(t *testing.T, s string) {
		ds, err := ParseAccounts(strings.NewReader(s), "f.csv")
		if err != nil {
			return
		}
		for _, x := range ds.Matrix() {
			if len(x) != len(Names) {
				t.Fatalf("vector of %d", len(x))
			}
		}
	})
}

func FuzzReadEvents(f *testing.F) {
	f.Add(`{"id":"e1","type":"post","time":"2026-01-01T00:00:00Z","actor":"a","text":"hi there you all"}` + "\n")
	f.Fuzz(func(t *testing.T, s string) {
		ds, _ := ParseAccounts(strings.NewReader("account,label\na,bot\n"), "a.csv")
		_ = ds.ReadEvents(strings.NewReader(s), "f.jsonl")
	})
}

// TestSharedCresciProfiles cross-validates on a subset of the real cresci-2015
// profiles (no timelines, to stay fast); the full evaluation is `warden eval`.
func TestSharedCresciProfiles(t *testing.T) {
	in := filepath.Join("..", "..", "shared", "datasets", "cresci-2015", "bas_users.csv")
	f, err := os.Open(in)
	if err != nil {
		t.Skip("../shared/datasets is absent")
	}
	defer f.Close()
	accts, err := datasets.ParseCresciUsers(f, in)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write(datasets.Columns)
	for i, a := range accts {
		if i%4 != 0 { // every fourth account: 975 of 3,900
			continue
		}
		row := make([]string, len(datasets.Columns))
		for j, c := range datasets.Columns {
			row[j] = a[c]
		}
		w.Write(row)
	}
	w.Flush()
	ds, err := ParseAccounts(&b, "bas.csv")
	if err != nil {
		t.Fatal(err)
	}
	m, base, err := CrossValidate(ds.Matrix(), ds.Labels, 3, 1, DefaultParams(GBT), DefaultParams(Tree1), nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.MCC < 0.9 || float64(m.AUC) < 0.97 || base.MCC < 0.8 {
		t.Fatalf("profiles only, 3-fold: %+v (baseline %+v); expected MCC ≥ 0.9 as on the full set", m, base)
	}
}

func TestReadEventsFillsProfile(t *testing.T) {
	ds, _ := ParseAccounts(strings.NewReader("account,label,followers_count\na,bot,7\nb,human,\n"), "accounts.csv")
	events := `{"id":"1","type":"signup","time":"2026-01-01T00:00:00Z","actor":"b"}
{"id":"2","type":"profile_update","time":"2026-01-02T00:00:00Z","actor":"a","attrs":{"followers_count":99,"friends_count":5}}
{"id":"3","type":"profile_update","time":"2026-01-03T00:00:00Z","actor":"b","attrs":{"followers_count":3}}
{"id":"4","type":"profile_update","time":"2026-01-02T12:00:00Z","actor":"b","attrs":{"followers_count":1}}
`
	if err := ds.ReadEvents(strings.NewReader(events), "events.jsonl"); err != nil {
		t.Fatal(err)
	}
	a, b := ds.Profiles[0], ds.Profiles[1]
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"accounts.csv wins over events", a.Followers, 7},
		{"events fill what accounts.csv lacks", a.Friends, 5},
		{"the latest event wins", b.Followers, 3},
	} {
		if c.got != c.want {
			t.Errorf("%s: %v, want %v", c.name, c.got, c.want)
		}
	}
	if !b.CreatedAt.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("signup did not date the account: %v", b.CreatedAt)
	}
}

func TestBaggedGBTIsOneAveragedModel(t *testing.T) {
	X, y := synthetic("xor", 800, 7)
	p := DefaultParams(GBT)
	p.Rounds, p.Bags = 20, 3
	m, err := Train(X, y, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Trees) != 60 {
		t.Fatalf("%d trees, want 3 bags of 20", len(m.Trees))
	}
	// The bagged model's margin is the mean of the bags' margins.
	var bags []*Model
	for b := 0; b < 3; b++ {
		q := p
		q.Bags, q.Seed = 0, p.Seed*1000+uint64(b)
		mb, err := Train(X, y, q)
		if err != nil {
			t.Fatal(err)
		}
		bags = append(bags, mb)
	}
	for _, x := range X[:50] {
		var want float64
		for _, mb := range bags {
			want += mb.margin(x) / 3
		}
		if got := m.margin(x); math.Abs(got-want) > 1e-9 {
			t.Fatalf("margin %v, mean of bags %v", got, want)
		}
		// Saabas contributions plus the roots' outputs still add up to the margin.
		c := make([]float64, len(x))
		s, _ := m.ScoreExplain(x, 3, c)
		sum := m.Base
		for _, tr := range m.Trees {
			sum += tr.Value[0]
		}
		for _, v := range c {
			sum += v
		}
		if math.Abs(sigmoid(sum)-s) > 1e-9 {
			t.Fatalf("contributions sum to %v, score %v", sigmoid(sum), s)
		}
	}
}

func TestLeaveOneOut(t *testing.T) {
	var X [][][]float64
	var y [][]float64
	for i, kind := range []string{"linear", "linear", "linear"} {
		x, l := synthetic(kind, 300, uint64(i+1))
		X, y = append(X, x), append(y, l)
	}
	// A one-class dataset trains but is never held out: AUC needs both classes.
	var bx [][]float64
	var by []float64
	for i, l := range y[0] {
		if l == 1 {
			bx, by = append(bx, X[0][i]), append(by, 1)
		}
	}
	X, y = append(X, bx), append(y, by)
	names := []string{"a", "b", "c", "bots"}
	p := DefaultParams(GBT)
	p.Rounds = 20
	held, err := LeaveOneOut(names, X, y, p, DefaultParams(Tree1), true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(held) != 3 {
		t.Fatalf("%d held out, want 3", len(held))
	}
	for _, h := range held {
		if len(h.Train) != 3 || slices.Contains(h.Train, names[h.Test]) {
			t.Errorf("held out %s, trained on %v", names[h.Test], h.Train)
		}
		if h.M.AUC < 0.9 {
			t.Errorf("held out %s: AUC %.3f", names[h.Test], float64(h.M.AUC))
		}
	}
	if _, err := LeaveOneOut(names[3:], X[3:], y[3:], p, DefaultParams(Tree1), true, nil); err == nil {
		t.Error("no dataset with both classes was accepted")
	}
}

// TestExplainNamesEachFactOnce checks that features saying one fact (likes
// given, likes per post, likes a day) make one reason whose push is their
// sum, told by the feature that pushed most, and that a fact pushed down by
// one of its features and up by another counts the net push.
func TestExplainNamesEachFactOnce(t *testing.T) {
	n := len(Names)
	m := &Model{Params: Params{Learner: LogReg}, Mean: make([]float64, n), Std: make([]float64, n), W: make([]float64, n), WMiss: make([]float64, n)}
	x := make([]float64, n)
	for i := range n {
		m.Std[i] = 1
	}
	push := func(name string, v float64) {
		i := slices.Index(Names, name)
		m.W[i], x[i] = v, 1
	}
	push("log_favourites", 0.3)
	push("favourites_per_status", 0.4)
	push("log_favourites_per_day", 0.2)
	push("log_followers", 0.5)
	push("screen_name_digits", 0.45)
	push("screen_name_len", -0.2)
	push("gap_entropy", 0.1)
	rs := m.Explain(x, 3)
	got := make([]string, len(rs))
	for i, r := range rs {
		got[i] = fmt.Sprintf("%s %.2f", Names[r.Feature], r.Push)
	}
	want := []string{"favourites_per_status 0.90", "log_followers 0.50", "screen_name_digits 0.25"}
	if !slices.Equal(got, want) {
		t.Fatalf("reasons %v, want %v", got, want)
	}
}

// TestRandomForest checks what makes a forest: trees on different bootstrap
// samples, random features at each split, and a score that is the mean of
// the trees' leaf shares, explained by contributions that add up to it.
func TestRandomForest(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	cnt := bootstrap(rng, 10000)
	var drawn, distinct int
	for _, c := range cnt {
		drawn += int(c)
		if c > 0 {
			distinct++
		}
	}
	if drawn != 10000 || distinct < 6100 || distinct > 6550 { // 1 - 1/e of the rows
		t.Fatalf("bootstrap drew %d rows, %d distinct", drawn, distinct)
	}

	// x0 decides the label; x1 and x2 are noise. With all features tried,
	// every root would split on x0; with 2 of 3 drawn, about a third cannot.
	X, y := synthetic("linear", 1000, 4)
	for i := range X {
		y[i] = 0
		if X[i][0] > 0 {
			y[i] = 1
		}
	}
	p := DefaultParams(RF)
	m, err := Train(X, y, p)
	if err != nil {
		t.Fatal(err)
	}
	T := float64(len(m.Trees))
	if len(m.Trees) != p.Rounds {
		t.Fatalf("%d trees, want %d", len(m.Trees), p.Rounds)
	}
	notX0, rootShares := 0, map[float64]bool{}
	for _, tr := range m.Trees {
		if tr.Feat[0] != 0 {
			notX0++
		}
		rootShares[tr.Value[0]] = true // the bot share of the tree's bootstrap sample
		for i, v := range tr.Value {
			if v*T < -1e-9 || v*T > 1+1e-9 {
				t.Fatalf("node %d holds share %v, outside 0..1", i, v*T)
			}
		}
	}
	if notX0 < 15 || notX0 > 55 {
		t.Errorf("%d of %d roots split on a noise feature, want about a third", notX0, len(m.Trees))
	}
	if len(rootShares) < 10 { // about 60 values are likely in 100 draws

		t.Errorf("only %d distinct root shares in %d trees: the samples are not bootstrapped", len(rootShares), len(m.Trees))
	}
	m2, _ := Train(X, y, p)
	q := p
	q.Seed = 2
	m3, _ := Train(X, y, q)
	var sameSeed, otherSeed bool = true, true
	for i, x := range X[:100] {
		var mean, roots float64
		for _, tr := range m.Trees {
			mean += tr.Predict(x) * T / T // each leaf holds its share divided by T
			roots += tr.Value[0]
		}
		s := m.Score(x)
		if math.Abs(s-mean) > 1e-9 {
			t.Fatalf("row %d: score %v, mean leaf share %v", i, s, mean)
		}
		c := make([]float64, len(x))
		se, _ := m.ScoreExplain(x, 3, c)
		for _, v := range c {
			roots += v
		}
		if se != s || math.Abs(roots-s) > 1e-9 {
			t.Fatalf("row %d: contributions add up to %v, score %v (%v)", i, roots, s, se)
		}
		sameSeed = sameSeed && m2.Score(x) == s
		otherSeed = otherSeed && m3.Score(x) == s
	}
	if !sameSeed || otherSeed {
		t.Errorf("same seed gives the same forest: %v; another seed gives another: %v", sameSeed, !otherSeed)
	}
	// A clear bot is explained by x0.
	x := []float64{3, 0, 0}
	if rs := m.Explain(x, 3); m.Score(x) < 0.9 || len(rs) == 0 || rs[0].Feature != 0 {
		t.Errorf("score %.2f, reasons %+v: want x0 first", m.Score(x), rs)
	}
}
