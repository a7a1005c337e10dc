package insights

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"pgregory.net/rapid"
)

// swissDir is the relaimpo reference case, outside the repository.
var swissDir = filepath.Join("..", "..", "shared", "datasets", "relaimpo-swiss")

type swissExpected struct {
	Response   string    `json:"response"`
	Predictors []string  `json:"predictors"`
	R2         float64   `json:"R2"`
	LMG        []float64 `json:"lmg"`
	LMGRela    []float64 `json:"lmg_rela"`
	First      []float64 `json:"first"`
	Johnson    []float64 `json:"johnson_rw"`
}

func loadSwiss(t *testing.T) (DriverInput, swissExpected) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(swissDir, "expected.json"))
	if err != nil {
		t.Skipf("relaimpo-swiss reference absent: %v", err)
	}
	var exp swissExpected
	if err := json.Unmarshal(raw, &exp); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(swissDir, "swiss.csv"))
	if err != nil {
		t.Skipf("swiss.csv absent: %v", err)
	}
	defer f.Close()
	tab, err := ReadCSV(f)
	if err != nil {
		t.Fatal(err)
	}
	in, err := tab.DriverInput(exp.Response, exp.Predictors, "")
	if err != nil {
		t.Fatal(err)
	}
	return in, exp
}

// digits is the precision a printed reference number carries: half a unit
// in its last printed decimal place (12 places in expected.json).
const printed = 5e-12

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.13g, want %.13g (±%g)", what, got, want, tol)
	}
}

func TestKeyDriversMatchRelaimpoSwiss(t *testing.T) {
	in, exp := loadSwiss(t)
	d, err := KeyDrivers(in, DriverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.N != 47 || d.Method != "exact" {
		t.Fatalf("n=%d method=%s", d.N, d.Method)
	}
	near(t, "R2", d.R2, exp.R2, printed)
	for j, name := range exp.Predictors {
		near(t, "lmg "+name, d.LMG[j], exp.LMG[j], printed)
		near(t, "lmg_rela "+name, d.LMGRela[j], exp.LMGRela[j], printed)
		near(t, "first "+name, d.First[j], exp.First[j], printed)
		near(t, "johnson "+name, d.Johnson[j], exp.Johnson[j], printed)
	}
}

// TestKeyDriversSampledSwiss forces sampled orderings on the reference
// case: the stated error bound covers the exact answer.
func TestKeyDriversSampledSwiss(t *testing.T) {
	in, exp := loadSwiss(t)
	d, err := KeyDrivers(in, DriverOptions{ExactMax: 2, Permutations: 4000, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if d.Method != "sampled" || d.Permutations != 4000 {
		t.Fatalf("method=%s permutations=%d", d.Method, d.Permutations)
	}
	sum := 0.0
	for j := range exp.LMG {
		sum += d.LMG[j]
		// 1.96 SE covers 95 %; 2× the bound for a test that cannot flake
		// on a fixed seed yet still fails if the estimate is biased.
		if math.Abs(d.LMG[j]-exp.LMG[j]) > 2*d.LMGError[j] || d.LMGError[j] <= 0 || d.LMGError[j] > 0.01 {
			t.Errorf("lmg[%d]=%g ±%g, exact %g", j, d.LMG[j], d.LMGError[j], exp.LMG[j])
		}
	}
	// Every ordering's increments sum to R² exactly, so their mean does.
	near(t, "Σ sampled lmg", sum, d.R2, 1e-12)
	again, _ := KeyDrivers(in, DriverOptions{ExactMax: 2, Permutations: 4000, Seed: 7})
	for j := range d.LMG {
		if again.LMG[j] != d.LMG[j] {
			t.Fatalf("same seed, different lmg: %v vs %v", again.LMG, d.LMG)
		}
	}
}

// synth draws n rows of p predictors with the given correlation among
// consecutive predictors and an outcome y = Σ b_j x_j + noise.
func synth(rng *rand.Rand, n int, b []float64, rho, noise float64) DriverInput {
	p := len(b)
	in := DriverInput{Outcome: make([]float64, n), Predictors: make([][]float64, p)}
	for j := range p {
		in.Names = append(in.Names, string(rune('a'+j)))
		in.Predictors[j] = make([]float64, n)
	}
	for i := range n {
		prev := rng.NormFloat64()
		for j := range p {
			x := rho*prev + math.Sqrt(1-rho*rho)*rng.NormFloat64()
			in.Predictors[j][i] = x
			in.Outcome[i] += b[j] * x
			prev = x
		}
		in.Outcome[i] += noise * rng.NormFloat64()
	}
	return in
}

// orthogonalise makes the predictors exactly uncorrelated (and centred) by
// Gram–Schmidt, so every decomposition must agree.
func orthogonalise(in DriverInput) {
	n := len(in.Outcome)
	for j := range in.Predictors {
		x := in.Predictors[j]
		m := 0.0
		for _, v := range x {
			m += v
		}
		for i := range x {
			x[i] -= m / float64(n)
		}
		for k := range j {
			q := in.Predictors[k]
			dot, qq := 0.0, 0.0
			for i := range x {
				dot += x[i] * q[i]
				qq += q[i] * q[i]
			}
			for i := range x {
				x[i] -= dot / qq * q[i]
			}
		}
	}
}

func TestOrthogonalPredictorsAllMeasuresAgree(t *testing.T) {
	in := synth(rand.New(rand.NewPCG(1, 2)), 200, []float64{1, 0.5, -0.3, 0.1}, 0.6, 1)
	orthogonalise(in)
	d, err := KeyDrivers(in, DriverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for j := range in.Names {
		for name, v := range map[string]float64{"first": d.First[j], "last": d.Last[j], "betasq": d.Betasq[j], "pratt": d.Pratt[j], "johnson": d.Johnson[j]} {
			near(t, name+" "+in.Names[j], v, d.LMG[j], 1e-10)
		}
	}
}

// TestLMGProperties: on random data with random structure, lmg sums to R²
// and every share is in [0, 1]; Johnson sums to R², Pratt sums to R²;
// scaling a predictor or the weights changes nothing; the predictor order
// does not matter.
func TestLMGProperties(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		p := rapid.IntRange(1, 7).Draw(rt, "p")
		n := rapid.IntRange(p+5, 80).Draw(rt, "n")
		b := make([]float64, p)
		for j := range b {
			b[j] = rapid.Float64Range(-2, 2).Draw(rt, "b")
		}
		rho := rapid.Float64Range(-0.8, 0.8).Draw(rt, "rho")
		seed := rapid.Uint64().Draw(rt, "seed")
		in := synth(rand.New(rand.NewPCG(seed, 3)), n, b, rho, rapid.Float64Range(0.1, 3).Draw(rt, "noise"))
		if rapid.Bool().Draw(rt, "weighted") {
			in.Weights = make([]float64, n)
			for i := range in.Weights {
				in.Weights[i] = rapid.Float64Range(0.2, 5).Draw(rt, "w")
			}
		}
		d, err := KeyDrivers(in, DriverOptions{})
		if err != nil {
			rt.Fatal(err)
		}
		if d.R2 < -1e-12 || d.R2 > 1+1e-12 {
			rt.Fatalf("r2 = %g", d.R2)
		}
		var sl, sj, sp, sr float64
		for j := range p {
			sl += d.LMG[j]
			sj += d.Johnson[j]
			sp += d.Pratt[j]
			sr += d.LMGRela[j]
			if d.LMG[j] < -1e-12 || d.LMG[j] > d.First[j]+d.R2 || d.Last[j] > d.R2+1e-12 {
				rt.Fatalf("driver %d: lmg %g first %g last %g r2 %g", j, d.LMG[j], d.First[j], d.Last[j], d.R2)
			}
		}
		for name, s := range map[string]float64{"lmg": sl, "johnson": sj, "pratt": sp} {
			if math.Abs(s-d.R2) > 1e-9 {
				rt.Fatalf("Σ %s = %g, r2 = %g", name, s, d.R2)
			}
		}
		if math.Abs(sr-1) > 1e-9 {
			rt.Fatalf("Σ lmg_rela = %g", sr)
		}
		// Reversing the predictors reverses every measure.
		rev := DriverInput{Outcome: in.Outcome, Weights: in.Weights}
		for j := p - 1; j >= 0; j-- {
			rev.Names = append(rev.Names, in.Names[j])
			x := make([]float64, n)
			for i, v := range in.Predictors[j] {
				x[i] = 3*v - 1 // an affine change of units
			}
			rev.Predictors = append(rev.Predictors, x)
		}
		if in.Weights != nil {
			rev.Weights = make([]float64, n)
			for i, v := range in.Weights {
				rev.Weights[i] = 10 * v
			}
		}
		r, err := KeyDrivers(rev, DriverOptions{})
		if err != nil {
			rt.Fatal(err)
		}
		for j := range p {
			if math.Abs(r.LMG[p-1-j]-d.LMG[j]) > 1e-9 || math.Abs(r.Johnson[p-1-j]-d.Johnson[j]) > 1e-9 {
				rt.Fatalf("reordered: lmg %v vs %v", r.LMG, d.LMG)
			}
		}
	})
}

// TestWeightsAreFrequencies: an integer weight counts like repeated rows.
func TestWeightsAreFrequencies(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	in := synth(rng, 40, []float64{1, -1, 0.5}, 0.4, 1)
	in.Weights = make([]float64, 40)
	rep := DriverInput{Names: in.Names, Predictors: make([][]float64, 3)}
	for i := range 40 {
		k := 1 + rng.IntN(3)
		in.Weights[i] = float64(k)
		for range k {
			rep.Outcome = append(rep.Outcome, in.Outcome[i])
			for j := range 3 {
				rep.Predictors[j] = append(rep.Predictors[j], in.Predictors[j][i])
			}
		}
	}
	a, err := KeyDrivers(in, DriverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := KeyDrivers(rep, DriverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "r2", a.R2, b.R2, 1e-12)
	for j := range 3 {
		near(t, "lmg", a.LMG[j], b.LMG[j], 1e-12)
		near(t, "last", a.Last[j], b.Last[j], 1e-12)
	}
}

func TestSampledAbove15Predictors(t *testing.T) {
	b := make([]float64, 17)
	for j := range b {
		b[j] = float64(j%5) - 2
	}
	in := synth(rand.New(rand.NewPCG(8, 9)), 300, b, 0.3, 1)
	d, err := KeyDrivers(in, DriverOptions{Permutations: 2000, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if d.Method != "sampled" || len(d.LMGError) != 17 {
		t.Fatalf("method %s errors %d", d.Method, len(d.LMGError))
	}
	// Exact for 15 predictors agrees with the sampled answer within its bound.
	in15 := DriverInput{Outcome: in.Outcome, Names: in.Names[:15], Predictors: in.Predictors[:15]}
	e, err := KeyDrivers(in15, DriverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := KeyDrivers(in15, DriverOptions{ExactMax: 14, Permutations: 2000, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for j := range 15 {
		if math.Abs(e.LMG[j]-s.LMG[j]) > 2*s.LMGError[j]+1e-12 {
			t.Errorf("driver %d: exact %g sampled %g ± %g", j, e.LMG[j], s.LMG[j], s.LMGError[j])
		}
	}
}

func TestBootstrapIntervalsReproducible(t *testing.T) {
	in := synth(rand.New(rand.NewPCG(3, 4)), 120, []float64{1, 0.6, 0.1}, 0.3, 1)
	opt := DriverOptions{Bootstrap: 200, Seed: 42}
	a, err := KeyDrivers(in, opt)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := KeyDrivers(in, opt)
	if a.Intervals == nil || a.Intervals.Replicates != 200 {
		t.Fatalf("intervals %+v", a.Intervals)
	}
	for j := range 3 {
		iv := a.Intervals.LMGRela[j]
		if iv != b.Intervals.LMGRela[j] {
			t.Fatalf("same seed, different interval")
		}
		if !(iv[0] <= a.LMGRela[j] && a.LMGRela[j] <= iv[1]) || iv[1]-iv[0] <= 0 {
			t.Errorf("driver %d share %g outside its interval %v", j, a.LMGRela[j], iv)
		}
	}
	// The strongest driver's interval lies above the weakest's.
	if a.Intervals.LMGRela[0][0] <= a.Intervals.LMGRela[2][1] {
		t.Errorf("intervals do not separate a strong and a weak driver: %v", a.Intervals.LMGRela)
	}
}

func TestKeyDriversRefusesBadDesigns(t *testing.T) {
	in := synth(rand.New(rand.NewPCG(1, 1)), 30, []float64{1, 1}, 0.2, 1)
	col := make([]float64, 30)
	for i := range col {
		col[i] = in.Predictors[0][i] + 2*in.Predictors[1][i]
	}
	cases := map[string]struct {
		in    DriverInput
		field string
	}{
		"collinear": {DriverInput{Outcome: in.Outcome, Names: []string{"a", "b", "c"}, Predictors: [][]float64{in.Predictors[0], in.Predictors[1], col}}, "c"},
		"constant":  {DriverInput{Outcome: in.Outcome, Names: []string{"a", "k"}, Predictors: [][]float64{in.Predictors[0], make([]float64, 30)}}, "k"},
		"too few":   {DriverInput{Outcome: in.Outcome[:3], Names: []string{"a", "b"}, Predictors: [][]float64{in.Predictors[0][:3], in.Predictors[1][:3]}}, "predictors"},
		"twice":     {DriverInput{Outcome: in.Outcome, Names: []string{"a", "a"}, Predictors: in.Predictors}, "a"},
		"none":      {DriverInput{Outcome: in.Outcome}, "predictors"},
		"negative":  {DriverInput{Outcome: in.Outcome, Names: []string{"a"}, Predictors: in.Predictors[:1], Weights: append([]float64{-1}, make([]float64, 29)...)}, "weight"},
	}
	for name, c := range cases {
		_, err := KeyDrivers(c.in, DriverOptions{})
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if f := fieldOf(err); f != c.field {
			t.Errorf("%s: field %q, want %q (%v)", name, f, c.field, err)
		}
	}
}

// BenchmarkLMG12x100k: exact lmg for 12 predictors over 100,000 weighted
// respondents (the target: ≤ 2 s).
func BenchmarkLMG12x100k(b *testing.B) {
	rng := rand.New(rand.NewPCG(12, 100))
	const n, p = 100_000, 12
	in := DriverInput{Outcome: make([]float64, n), Weights: make([]float64, n), Predictors: make([][]float64, p)}
	for j := range p {
		in.Names = append(in.Names, fmt.Sprintf("x%d", j))
		in.Predictors[j] = make([]float64, n)
	}
	for i := range n {
		common := rng.NormFloat64()
		y := rng.NormFloat64()
		for j := range p {
			x := 0.5*common + rng.NormFloat64()
			in.Predictors[j][i] = x
			y += float64(j+1) / 10 * x
		}
		in.Outcome[i], in.Weights[i] = y, 0.5+rng.Float64()
	}
	b.ResetTimer()
	for b.Loop() {
		d, err := KeyDrivers(in, DriverOptions{})
		if err != nil || d.Method != "exact" {
			b.Fatal(err)
		}
	}
}
