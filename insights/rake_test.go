package insights

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
	"pgregory.net/rapid"
)

// sample draws n respondents whose age band and gender are correlated and
// skewed against the population, with unequal starting weights.
func sample(rng *rand.Rand, n int) (values [][]string, w []float64) {
	ages := []string{"18-34", "35-54", "55+"}
	values = [][]string{make([]string, n), make([]string, n), make([]string, n)}
	w = make([]float64, n)
	for i := range n {
		a := rng.IntN(3)
		if rng.Float64() < 0.3 {
			a = 0
		}
		g := "f"
		if rng.Float64() < 0.3+0.2*float64(a) {
			g = "m"
		}
		r := []string{"north", "south"}[rng.IntN(2)]
		if a == 2 && rng.Float64() < 0.5 {
			r = "north"
		}
		values[0][i], values[1][i], values[2][i] = ages[a], g, r
		w[i] = 0.5 + rng.Float64()
	}
	return values, w
}

var popMargins = []Margin{
	{Var: "age", Levels: []string{"18-34", "35-54", "55+"}, Totals: []float64{30000, 35000, 35000}},
	{Var: "gender", Levels: []string{"f", "m"}, Totals: []float64{51000, 49000}},
	{Var: "region", Levels: []string{"north", "south"}, Totals: []float64{40000, 60000}},
}

// marginTables are the weighted totals of each margin's levels.
func marginTables(values [][]string, w []float64, margins []Margin) [][]float64 {
	out := make([][]float64, len(margins))
	for k, m := range margins {
		out[k] = make([]float64, len(m.Levels))
		for i, v := range values[k] {
			for l, name := range m.Levels {
				if name == v {
					out[k][l] += w[i]
				}
			}
		}
	}
	return out
}

// crossTable is the weighted table of every combination of the margins'
// variables present in the rows, as R's svytable(~a+b+…) (empty cells
// stay empty and are left out).
func crossTable(values [][]string, w []float64) map[string]float64 {
	t := map[string]float64{}
	for i := range w {
		parts := make([]string, len(values))
		for k := range values {
			parts[k] = values[k][i]
		}
		t[strings.Join(parts, "\x00")] += w[i]
	}
	return t
}

func maxChange(a, b map[string]float64) float64 {
	d := 0.0
	for k, v := range a {
		d = math.Max(d, math.Abs(v-b[k]))
	}
	return d
}

// TestRakeRSurveyStopsAsRDoes checks the stopping rule of survey::rake
// from outside: the weights after c cycles (c = where r-survey stopped) are
// those of c cycles run without a stopping rule; the cells of the
// cross-table of all margins' variables (R's svytable(~age+gender+region))
// moved by less than 1 in the last cycle and by at least 1 in each earlier
// one (R's oldtable starts as the cross-table of the starting weights).
func TestRakeRSurveyStopsAsRDoes(t *testing.T) {
	values, w := sample(rand.New(rand.NewPCG(0, 12)), 800)
	r, err := Rake(values, w, popMargins, RakeOptions{Mode: ModeRSurvey})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Converged || r.Cycles < 3 || r.Cycles >= 10 {
		t.Fatalf("cycles %d converged %v: the test case should need a few cycles", r.Cycles, r.Converged)
	}
	prev := crossTable(values, w)
	prevMargins := marginTables(values, w, popMargins)
	for c := 1; c <= r.Cycles; c++ {
		fixed, err := rake(values, w, popMargins, c, 0)
		if err != nil {
			t.Fatal(err)
		}
		now := crossTable(values, fixed.Weights)
		d := maxChange(now, prev)
		if c < r.Cycles && d < 1 {
			t.Fatalf("cycle %d changed the margins by %g < 1, yet r-survey went on", c, d)
		}
		if c == r.Cycles {
			// On this sample a rule on the margins alone would go on: a
			// margin total moved by more than any one cell.
			md := 0.0
			for k, tab := range marginTables(values, fixed.Weights, popMargins) {
				for l, v := range tab {
					md = math.Max(md, math.Abs(v-prevMargins[k][l]))
				}
			}
			if md < 1 {
				t.Fatalf("the margins moved by %g < 1 in the last cycle: the sample does not tell the cross-table rule from a margins rule", md)
			}
			if d >= 1 {
				t.Fatalf("stopped after cycle %d, which changed the margins by %g ≥ 1", c, d)
			}
			for i := range w {
				if fixed.Weights[i] != r.Weights[i] {
					t.Fatalf("row %d: %g vs %g", i, fixed.Weights[i], r.Weights[i])
				}
			}
		}
		prev, prevMargins = now, marginTables(values, fixed.Weights, popMargins)
	}
	// The last margin is matched exactly (it was adjusted last), the
	// others nearly; the converged weights differ (R stops early).
	got := marginTables(values, r.Weights, popMargins)
	for l, v := range got[2] {
		if math.Abs(v-popMargins[2].Totals[l]) > 1e-7 {
			t.Errorf("region %s = %g", popMargins[2].Levels[l], v)
		}
	}
	c, err := Rake(values, w, popMargins, RakeOptions{Mode: ModeConverged})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Converged || c.Cycles <= r.Cycles {
		t.Fatalf("converged mode: %d cycles (r-survey %d)", c.Cycles, r.Cycles)
	}
	got = marginTables(values, c.Weights, popMargins)
	differ := 0.0
	for k, m := range popMargins {
		for l, pop := range m.Totals {
			if math.Abs(got[k][l]-pop) > 1e-8*pop {
				t.Errorf("converged %s=%s: %g, want %g", m.Var, m.Levels[l], got[k][l], pop)
			}
		}
	}
	for i := range w {
		differ = math.Max(differ, math.Abs(c.Weights[i]-r.Weights[i])/c.Weights[i])
	}
	if differ == 0 || differ > 1e-2 {
		t.Errorf("r-survey and converged weights differ by at most %g (relative)", differ)
	}
}

// TestRakeOneMarginIsPostStratification: one margin is matched in the
// first cycle; the second finds no change and stops, as in R.
func TestRakeOneMarginIsPostStratification(t *testing.T) {
	values := [][]string{{"a", "a", "b", "b", "b"}}
	w := []float64{1, 3, 1, 1, 2}
	m := []Margin{{Var: "g", Levels: []string{"a", "b"}, Totals: []float64{100, 200}}}
	r, err := Rake(values, w, m, RakeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{25, 75, 50, 50, 100}
	for i := range want {
		if math.Abs(r.Weights[i]-want[i]) > 1e-12 {
			t.Errorf("weights %v, want %v", r.Weights, want)
			break
		}
	}
	if r.Cycles != 2 || !r.Converged {
		t.Errorf("cycles %d converged %v, want 2 and true", r.Cycles, r.Converged)
	}
	// Starting weights already on the margin: one cycle.
	r, _ = Rake(values, want, m, RakeOptions{})
	if r.Cycles != 1 {
		t.Errorf("cycles %d, want 1", r.Cycles)
	}
}

// TestRakeNotConverging: a cell with no respondents makes the fixed point
// lie on the boundary (respondents in x,p must reach weight 0), reached
// only slowly; both modes run to their limit and say so.
func TestRakeNotConverging(t *testing.T) {
	values := [][]string{{"x", "x", "y"}, {"p", "q", "p"}}
	m := []Margin{
		{Var: "a", Levels: []string{"x", "y"}, Totals: []float64{500, 500}},
		{Var: "b", Levels: []string{"p", "q"}, Totals: []float64{500, 500}},
	}
	r, err := Rake(values, []float64{1, 1, 1}, m, RakeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Converged || r.Cycles != 10 || r.Delta < 1 {
		t.Errorf("cycles %d converged %v delta %g, want 10, false, ≥ 1", r.Cycles, r.Converged, r.Delta)
	}
	r, _ = Rake(values, []float64{1, 1, 1}, m, RakeOptions{Mode: ModeConverged})
	if r.Converged || r.Cycles != 1000 {
		t.Errorf("converged mode: cycles %d converged %v", r.Cycles, r.Converged)
	}
}

// TestRakeRuleComparesCycles: R's rule compares a cycle's margins with the
// previous cycle's, not with the population, so margins that cannot hold
// together (each respondent in the same level of both) stop after two
// cycles as converged with the first margin unmet. Both modes keep that.
func TestRakeRuleComparesCycles(t *testing.T) {
	values := [][]string{{"x", "x", "y"}, {"p", "p", "q"}}
	m := []Margin{
		{Var: "a", Levels: []string{"x", "y"}, Totals: []float64{500, 500}},
		{Var: "b", Levels: []string{"p", "q"}, Totals: []float64{200, 800}},
	}
	for _, mode := range []string{ModeRSurvey, ModeConverged} {
		r, err := Rake(values, []float64{1, 1, 1}, m, RakeOptions{Mode: mode})
		if err != nil {
			t.Fatal(err)
		}
		if !r.Converged || r.Cycles != 2 || r.Weights[0] != 100 || r.Weights[2] != 800 {
			t.Errorf("%s: cycles %d converged %v weights %v", mode, r.Cycles, r.Converged, r.Weights)
		}
	}
}

func TestRakeProperties(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		n := rapid.IntRange(30, 300).Draw(rt, "n")
		values, w := sample(rand.New(rand.NewPCG(rapid.Uint64().Draw(rt, "seed"), 1)), n)
		scale := rapid.Float64Range(0.01, 1000).Draw(rt, "scale")
		m := make([]Margin, 3)
		for k := range m {
			m[k] = Margin{Var: popMargins[k].Var, Levels: popMargins[k].Levels}
			for _, v := range popMargins[k].Totals {
				m[k].Totals = append(m[k].Totals, v*scale)
			}
		}
		tab := marginTables(values, w, m)
		for k := range tab {
			for _, v := range tab[k] {
				if v == 0 {
					rt.Skip("a level with no respondents")
				}
			}
		}
		r, err := Rake(values, w, m, RakeOptions{Mode: ModeConverged})
		if err != nil {
			rt.Fatal(err)
		}
		if !r.Converged {
			rt.Skip("not converging on this draw")
		}
		// Total preserved; every weight positive; rows in the same cells
		// keep their ratio (raking multiplies by per-level factors).
		if s := sum(r.Weights); math.Abs(s-100000*scale) > 1e-6*s {
			rt.Fatalf("total %g", s)
		}
		for i := range w {
			for j := range w {
				if values[0][i] == values[0][j] && values[1][i] == values[1][j] && values[2][i] == values[2][j] {
					if math.Abs(r.Weights[i]/w[i]-r.Weights[j]/w[j]) > 1e-9*r.Weights[i]/w[i] {
						rt.Fatalf("rows %d and %d in one cell got different factors", i, j)
					}
				}
			}
		}
		deff, ess := Kish(r.Weights)
		if deff < 1-1e-12 || math.Abs(ess*deff-float64(n)) > 1e-9*float64(n) {
			rt.Fatalf("deff %g ess %g n %d", deff, ess, n)
		}
	})
}

func TestRakeRefusesBadInput(t *testing.T) {
	values := [][]string{{"a", "b", "c"}}
	for name, c := range map[string]struct {
		values [][]string
		m      []Margin
		want   string
	}{
		"level not in margin": {values, []Margin{{Var: "g", Levels: []string{"a", "b"}, Totals: []float64{1, 2}}}, `row 3, column "g": level "c"`},
		"no respondents":      {values, []Margin{{Var: "g", Levels: []string{"a", "b", "c", "d"}, Totals: []float64{1, 2, 3, 4}}}, `level "d" of "g"`},
		"respondents, no pop": {values, []Margin{{Var: "g", Levels: []string{"a", "b", "c"}, Totals: []float64{1, 2, 0}}}, `level "c" of "g" has respondents`},
	} {
		_, err := Rake(c.values, []float64{1, 1, 1}, c.m, RakeOptions{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
	if _, err := Rake(values, []float64{1, 1, 1}, nil, RakeOptions{Mode: "fast"}); err == nil {
		t.Error("mode fast accepted")
	}
}

func TestTrimAsSurveyTrimWeights(t *testing.T) {
	w := []float64{1, 2, 3, 10, 4}
	got, k, err := Trim(w, 0, 5, false)
	if err != nil {
		t.Fatal(err)
	}
	// 5 trimmed from the 10, shared by the four others: 1.25 each.
	want := []float64{2.25, 3.25, 4.25, 5, 5.25}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Fatalf("trim %v, want %v", got, want)
		}
	}
	if k != 1 {
		t.Errorf("trimmed %d", k)
	}
	// strict goes on until no weight is above 5.
	got, _, err = Trim(w, 0, 5, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range got {
		if v > 5+1e-12 {
			t.Fatalf("strict trim left %v", got)
		}
	}
	if math.Abs(sum(got)-20) > 1e-12 {
		t.Errorf("total %g", sum(got))
	}
	if _, _, err := Trim(w, 6, 5, false); err == nil {
		t.Error("empty interval accepted")
	}
}

func TestKish(t *testing.T) {
	deff, ess := Kish([]float64{1, 1, 1, 1})
	if deff != 1 || ess != 4 {
		t.Errorf("equal weights: deff %g ess %g", deff, ess)
	}
	// n Σw²/(Σw)² = 2·(1+9)/16.
	deff, ess = Kish([]float64{1, 3, 0})
	if math.Abs(deff-1.25) > 1e-15 || math.Abs(ess-1.6) > 1e-15 {
		t.Errorf("deff %g ess %g", deff, ess)
	}
}

func TestParseMargins(t *testing.T) {
	m, err := ParseMargins([]byte(`{"sex": {"m": 49, "f": 51}, "age": {"young": 40, "old": 60}}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 2 || m[0].Var != "sex" || m[1].Var != "age" || m[0].Levels[1] != "f" || m[1].Totals[1] != 60 {
		t.Fatalf("%+v", m)
	}
	for in, field := range map[string]string{
		``:                               "margins",
		`[]`:                             "margins",
		`{}`:                             "margins",
		`{"a": 1}`:                       "margins.a",
		`{"a": {"x": "1"}}`:              "margins.a.x",
		`{"a": {"x": -1}}`:               "margins.a.x",
		`{"a": {"x": 1e999}}`:            "margins.a.x",
		`{"a": {"x": 0}}`:                "margins.a",
		`{"a": {"x": 1, "x": 2}}`:        "margins.a.x",
		`{"a": {"x": 1}, "a": {"y": 1}}`: "margins.a",
		`{"a": {"x": 1}, "b": {"y": 2}}`: "margins.b",
		`{"a": {"x": 1}} {}`:             "margins",
		`{"a": {"": 1}}`:                 "margins.a.",
		`{"a": {"x": 1}`:                 "margins",
		fmt.Sprintf(`{"a": {"x": 1, %q: 1}}`, "\xff"): "margins.a",
	} {
		_, err := ParseMargins([]byte(in))
		if err == nil {
			t.Errorf("%q accepted", in)
			continue
		}
		if f := fieldOf(err); f != field {
			t.Errorf("%q: field %q, want %q (%v)", in, f, field, err)
		}
	}
}

// FuzzParseMargins: margins are refused with an invalid-input error and
// nothing returned, or come back with valid names, finite totals ≥ 0 and
// equal sums; writing them out again parses to the same margins.
func FuzzParseMargins(f *testing.F) {
	for _, s := range []string{`{"sex": {"m": 49, "f": 51}, "age": {"young": 40, "old": 60}}`, `{}`, `{"a": {"x": 1, "x": 2}}`,
		`{"a": {"x": 1e999}}`, `{"a": {"x": 1}, "b": {"y": 1.0000001}}`, `[1]`, `{"a": {"x": -0}}`, `{"a":{"\u00e9":3}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseMargins(data)
		if err != nil {
			if m != nil || fieldOf(err) == "" {
				t.Fatalf("error %v with margins %v / no field", err, m)
			}
			return
		}
		var b strings.Builder
		b.WriteString("{")
		for k, mg := range m {
			if checkName(mg.Var, "", "") != nil || len(mg.Levels) == 0 || len(mg.Levels) != len(mg.Totals) {
				t.Fatalf("margin %+v", mg)
			}
			if math.Abs(mg.Sum()-m[0].Sum()) > marginsTolerance*m[0].Sum() {
				t.Fatalf("sums %g and %g", mg.Sum(), m[0].Sum())
			}
			if k > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "%s:{", quoteJSON(mg.Var))
			for l, v := range mg.Totals {
				if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || checkName(mg.Levels[l], "", "") != nil {
					t.Fatalf("level %q total %g", mg.Levels[l], v)
				}
				if l > 0 {
					b.WriteString(",")
				}
				fmt.Fprintf(&b, "%s:%s", quoteJSON(mg.Levels[l]), strconv.FormatFloat(v, 'g', -1, 64))
			}
			b.WriteString("}")
		}
		b.WriteString("}")
		again, err := ParseMargins([]byte(b.String()))
		if err != nil || !reflect.DeepEqual(again, m) {
			t.Fatalf("written out as %s: %v %+v, want %+v", b.String(), err, again, m)
		}
	})
}

func quoteJSON(s string) string {
	b, err := jsontext.AppendQuote(nil, s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// BenchmarkRake1M rakes 1,000,000 respondents over 3 margins (the issue's
// target: ≤ 2 s).
func BenchmarkRake1M(b *testing.B) {
	values, w := sample(rand.New(rand.NewPCG(5, 6)), 1_000_000)
	b.ResetTimer()
	for b.Loop() {
		r, err := Rake(values, w, popMargins, RakeOptions{Mode: ModeRSurvey})
		if err != nil || !r.Converged {
			b.Fatal(err, r.Converged)
		}
	}
}
