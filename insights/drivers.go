package insights

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"

	"github.com/wardenhq/warden"
)

// Defaults of DriverOptions.
const (
	// DefaultExactMax is the largest number of predictors for which lmg is
	// computed exactly, over all 2^p subsets.
	DefaultExactMax = 15
	// DefaultPermutations is how many orderings are sampled above it.
	DefaultPermutations = 20000
	// MaxPredictors bounds a model (subsets are bit masks).
	MaxPredictors = 60
	// singularTol is the smallest share of a predictor's variance that the
	// other predictors may leave unexplained (1 - R² of it on the earlier
	// predictors) before the design counts as singular.
	singularTol = 1e-10
)

// DriverInput is the data of one key-driver model: an outcome, named
// predictors (one column each, as long as the outcome) and optional survey
// weights (nil for equal weights).
type DriverInput struct {
	Outcome    []float64
	Names      []string
	Predictors [][]float64
	Weights    []float64
}

// DriverOptions tunes KeyDrivers. The zero value is the default.
type DriverOptions struct {
	// ExactMax is the largest p for exact lmg (0: DefaultExactMax).
	ExactMax int
	// Permutations sampled when p > ExactMax (0: DefaultPermutations).
	Permutations int
	// Bootstrap is the number of bootstrap replicates for the intervals of
	// each driver's share (0: no intervals).
	Bootstrap int
	// Seed makes the sampled orderings and the bootstrap reproducible.
	Seed uint64
}

// Drivers is relaimpo's decomposition of an OLS model's R² among its
// predictors. Every slice is in the order of Names.
type Drivers struct {
	N     int
	R2    float64
	Names []string
	// LMG is the Shapley value of R²: each predictor's increase in R²
	// averaged over all orderings. It sums to R2.
	LMG []float64
	// LMGRela is LMG divided by R2 (sums to 1).
	LMGRela []float64
	// First is the R² of the predictor alone (squared correlation).
	First []float64
	// Last is the increase in R² when the predictor is added last.
	Last []float64
	// Betasq is the squared standardised coefficient.
	Betasq []float64
	// Pratt is the standardised coefficient times the correlation.
	Pratt []float64
	// Johnson is Johnson's (2000) relative weights (sum to R2).
	Johnson []float64
	// Method is "exact" (all subsets) or "sampled" (random orderings).
	Method string
	// Permutations is the number of orderings sampled ("sampled" only).
	Permutations int
	// LMGError is, when sampled, the half-width of a 95 % interval of each
	// LMG value (1.96 standard errors over the sampled orderings).
	LMGError []float64
	// Intervals are the bootstrap intervals of LMGRela, nil unless asked.
	Intervals *Intervals
}

// Intervals are percentile bootstrap intervals of each driver's share.
type Intervals struct {
	Level      float64
	Replicates int
	Seed       uint64
	// LMGRela[j] is the [lower, upper] interval of driver j's share.
	LMGRela [][2]float64
}

// KeyDrivers fits the OLS model of in.Outcome on in.Predictors (weighted
// when in.Weights is set) and decomposes its R². A constant column, a
// singular design (a predictor that is a linear combination of others) and
// too few rows are errors naming the predictor.
func KeyDrivers(in DriverInput, opt DriverOptions) (*Drivers, error) {
	if err := checkInput(in); err != nil {
		return nil, err
	}
	if opt.ExactMax <= 0 {
		opt.ExactMax = DefaultExactMax
	}
	if opt.Permutations <= 0 {
		opt.Permutations = DefaultPermutations
	}
	w := in.Weights
	if w == nil {
		w = make([]float64, len(in.Outcome))
		for i := range w {
			w[i] = 1
		}
	}
	c, err := correlations(in, w)
	if err != nil {
		return nil, err
	}
	d, err := decompose(c, in.Names, opt, rand.New(rand.NewPCG(opt.Seed, 0x9e3779b97f4a7c15)))
	if err != nil {
		return nil, err
	}
	d.N = len(in.Outcome)
	if opt.Bootstrap > 0 {
		d.Intervals = bootstrap(in, w, opt)
	}
	return d, nil
}

func checkInput(in DriverInput) error {
	p := len(in.Names)
	switch {
	case p == 0:
		return warden.FieldErrorf("predictors", "name at least one predictor")
	case p > MaxPredictors:
		return warden.FieldErrorf("predictors", "%d predictors; the limit is %d", p, MaxPredictors)
	case len(in.Predictors) != p:
		return warden.FieldErrorf("predictors", "%d names for %d predictor columns", p, len(in.Predictors))
	}
	seen := map[string]bool{}
	for j, name := range in.Names {
		if seen[name] {
			return warden.FieldErrorf(name, "predictor %q is named twice", name)
		}
		seen[name] = true
		if len(in.Predictors[j]) != len(in.Outcome) {
			return warden.FieldErrorf(name, "predictor %q has %d values for %d outcomes", name, len(in.Predictors[j]), len(in.Outcome))
		}
	}
	if in.Weights != nil && len(in.Weights) != len(in.Outcome) {
		return warden.FieldErrorf("weight", "%d weights for %d rows", len(in.Weights), len(in.Outcome))
	}
	pos := 0
	for i := range in.Outcome {
		if in.Weights == nil || in.Weights[i] > 0 {
			pos++
		}
		if in.Weights != nil && (in.Weights[i] < 0 || math.IsNaN(in.Weights[i]) || math.IsInf(in.Weights[i], 0)) {
			return warden.FieldErrorf("weight", "row %d: a weight must be a finite number ≥ 0", i+1)
		}
	}
	if pos <= p+1 {
		return warden.FieldErrorf("predictors", "%d rows with a positive weight cannot fit %d predictors: the model needs more rows than predictors plus one", pos, p)
	}
	return nil
}

// correlations is the weighted correlation matrix of [outcome, predictors…].
func correlations(in DriverInput, w []float64) (*mat.SymDense, error) {
	n, p := len(in.Outcome), len(in.Names)
	data := mat.NewDense(n, p+1, nil)
	for i := range n {
		data.Set(i, 0, in.Outcome[i])
		for j := range p {
			data.Set(i, j+1, in.Predictors[j][i])
		}
	}
	// gonum divides by Σw − 1; weights scaled to sum to n keep that
	// positive, and the scale cancels in every correlation.
	sum := 0.0
	for _, v := range w {
		sum += v
	}
	ws := make([]float64, n)
	for i, v := range w {
		ws[i] = v * float64(n) / sum
	}
	var cov mat.SymDense
	stat.CovarianceMatrix(&cov, data, ws)
	sd := make([]float64, p+1)
	for j := range p + 1 {
		col := mat.Col(nil, j, data)
		scale := 0.0
		for _, v := range col {
			scale = math.Max(scale, math.Abs(v))
		}
		v := cov.At(j, j)
		if !(v > math.Pow(1e-12*scale, 2)) || scale == 0 {
			name := "outcome"
			if j > 0 {
				name = in.Names[j-1]
			}
			return nil, warden.FieldErrorf(name, "%s does not vary among the weighted rows: it explains nothing and cannot be explained", name)
		}
		sd[j] = math.Sqrt(v)
	}
	c := mat.NewSymDense(p+1, nil)
	for i := range p + 1 {
		for j := i; j < p+1; j++ {
			v := cov.At(i, j) / (sd[i] * sd[j])
			if i == j {
				v = 1
			}
			c.SetSym(i, j, v)
		}
	}
	return c, nil
}

// decompose computes every measure from the correlation matrix c of
// [outcome, predictors…].
func decompose(c *mat.SymDense, names []string, opt DriverOptions, rng *rand.Rand) (*Drivers, error) {
	p := len(names)
	rxx := mat.NewSymDense(p, nil)
	rxy := mat.NewVecDense(p, nil)
	for i := range p {
		rxy.SetVec(i, c.At(0, i+1))
		for j := i; j < p; j++ {
			rxx.SetSym(i, j, c.At(i+1, j+1))
		}
	}
	if err := checkSingular(rxx, names); err != nil {
		return nil, err
	}
	var ch mat.Cholesky
	ch.Factorize(rxx)
	var beta mat.VecDense
	if err := ch.SolveVecTo(&beta, rxy); err != nil {
		return nil, singularError(names)
	}
	var inv mat.SymDense
	if err := ch.InverseTo(&inv); err != nil {
		return nil, singularError(names)
	}
	d := &Drivers{Names: slices.Clone(names), R2: mat.Dot(rxy, &beta)}
	d.First, d.Last, d.Betasq, d.Pratt = make([]float64, p), make([]float64, p), make([]float64, p), make([]float64, p)
	for j := range p {
		b, r := beta.AtVec(j), rxy.AtVec(j)
		d.First[j] = r * r
		d.Betasq[j] = b * b
		d.Pratt[j] = b * r
		d.Last[j] = b * b / inv.At(j, j)
	}
	var err error
	if d.Johnson, err = johnson(rxx, rxy); err != nil {
		return nil, singularError(names)
	}
	if p <= opt.ExactMax {
		d.Method = "exact"
		d.LMG = lmgExact(rxx, rxy)
	} else {
		d.Method = "sampled"
		d.Permutations = opt.Permutations
		d.LMG, d.LMGError = lmgSampled(rxx, rxy, opt.Permutations, rng)
	}
	d.LMGRela = make([]float64, p)
	for j, v := range d.LMG {
		d.LMGRela[j] = v / d.R2
	}
	return d, nil
}

// checkSingular adds the predictors one at a time and names the first that
// the earlier ones explain (almost) entirely.
func checkSingular(rxx *mat.SymDense, names []string) error {
	p := len(names)
	var ch mat.Cholesky
	if ch.Factorize(rxx) {
		ok := true
		var l mat.TriDense
		ch.LTo(&l)
		for j := range p {
			if v := l.At(j, j); v*v < singularTol {
				ok = false
			}
		}
		if ok {
			return nil
		}
	}
	for k := 1; k <= p; k++ {
		sub := mat.NewSymDense(k, nil)
		for i := range k {
			for j := i; j < k; j++ {
				sub.SetSym(i, j, rxx.At(i, j))
			}
		}
		var c mat.Cholesky
		bad := !c.Factorize(sub)
		if !bad {
			var l mat.TriDense
			c.LTo(&l)
			v := l.At(k-1, k-1)
			bad = v*v < singularTol
		}
		if bad {
			if k == 1 {
				return warden.FieldErrorf(names[0], "predictor %q does not vary", names[0])
			}
			return warden.FieldErrorf(names[k-1], "the design is singular: predictor %q is a linear combination of %v (collinear); drop it or one of them", names[k-1], names[:k-1])
		}
	}
	return singularError(names)
}

func singularError(names []string) error {
	return warden.FieldErrorf("predictors", "the design is singular (collinear predictors among %v)", names)
}

// johnson computes Johnson's relative weights from the predictors'
// correlation matrix rxx and their correlations with the outcome rxy.
func johnson(rxx *mat.SymDense, rxy *mat.VecDense) ([]float64, error) {
	p := rxy.Len()
	var eig mat.EigenSym
	if !eig.Factorize(rxx, true) {
		return nil, fmt.Errorf("eigen decomposition failed")
	}
	vals := eig.Values(nil)
	var v mat.Dense
	eig.VectorsTo(&v)
	sq, isq := mat.NewDiagDense(p, nil), mat.NewDiagDense(p, nil)
	for k, l := range vals {
		if l <= 0 {
			return nil, fmt.Errorf("not positive definite")
		}
		sq.SetDiag(k, math.Sqrt(l))
		isq.SetDiag(k, 1/math.Sqrt(l))
	}
	// Λ = V √D Vᵀ, the correlations of the predictors with their closest
	// orthogonal counterparts; β* = Λ⁻¹ rxy regresses the outcome on those.
	var lam, tmp, lamInv mat.Dense
	tmp.Mul(&v, sq)
	lam.Mul(&tmp, v.T())
	tmp.Mul(&v, isq)
	lamInv.Mul(&tmp, v.T())
	var bstar mat.VecDense
	bstar.MulVec(&lamInv, rxy)
	out := make([]float64, p)
	for j := range p {
		for k := range p {
			l := lam.At(j, k)
			out[j] += l * l * bstar.AtVec(k) * bstar.AtVec(k)
		}
	}
	return out, nil
}

// lmgExact is the Shapley value of R² over all 2^p subsets. The R² of every
// subset comes from a depth-first walk that extends the parent's Cholesky
// factor by one predictor.
func lmgExact(rxx *mat.SymDense, rxy *mat.VecDense) []float64 {
	p := rxy.Len()
	r2 := make([]float64, 1<<p)
	var walk func(mask uint64, members []int, ch *mat.Cholesky)
	walk = func(mask uint64, members []int, ch *mat.Cholesky) {
		start := 0
		if len(members) > 0 {
			start = members[len(members)-1] + 1
		}
		k := len(members)
		for j := start; j < p; j++ {
			v := mat.NewVecDense(k+1, nil)
			for i, m := range members {
				v.SetVec(i, rxx.At(m, j))
			}
			v.SetVec(k, rxx.At(j, j))
			child := new(mat.Cholesky)
			if k == 0 {
				child.Factorize(mat.NewSymDense(1, []float64{rxx.At(j, j)}))
			} else if !child.ExtendVecSym(ch, v) {
				// Unreachable for a positive-definite rxx (checked).
				continue
			}
			cm := append(slices.Clone(members), j)
			c := mat.NewVecDense(k+1, nil)
			for i, m := range cm {
				c.SetVec(i, rxy.AtVec(m))
			}
			var x mat.VecDense
			if err := child.SolveVecTo(&x, c); err == nil {
				r2[mask|1<<j] = mat.Dot(c, &x)
			}
			walk(mask|1<<j, cm, child)
		}
	}
	walk(0, nil, nil)
	// A subset of size s before j in an ordering has weight s!(p-1-s)!/p!.
	weight := make([]float64, p)
	for s := range p {
		weight[s] = 1 / (float64(p) * binom(p-1, s))
	}
	out := make([]float64, p)
	for mask := range uint64(1) << p {
		s := bits.OnesCount64(mask)
		for j := range p {
			if mask&(1<<j) == 0 {
				out[j] += weight[s] * (r2[mask|1<<j] - r2[mask])
			}
		}
	}
	return out
}

func binom(n, k int) float64 {
	r := 1.0
	for i := 1; i <= k; i++ {
		r = r * float64(n-k+i) / float64(i)
	}
	return r
}

// lmgSampled estimates lmg from m random orderings: one Cholesky factor of
// the predictors in each ordering gives every predictor's increase in R² as
// the square of its entry of L⁻¹ rxy. It also returns the half-width of a
// 95 % interval of each estimate.
func lmgSampled(rxx *mat.SymDense, rxy *mat.VecDense, m int, rng *rand.Rand) (mean, half []float64) {
	p := rxy.Len()
	sum, sumsq := make([]float64, p), make([]float64, p)
	perm := mat.NewSymDense(p, nil)
	c := mat.NewVecDense(p, nil)
	var ch mat.Cholesky
	var l mat.TriDense
	var z mat.VecDense
	for range m {
		order := rng.Perm(p)
		for i, a := range order {
			c.SetVec(i, rxy.AtVec(a))
			for j := i; j < p; j++ {
				perm.SetSym(i, j, rxx.At(a, order[j]))
			}
		}
		if !ch.Factorize(perm) {
			continue
		}
		ch.LTo(&l)
		if err := z.SolveVec(&l, c); err != nil {
			continue
		}
		for i, a := range order {
			v := z.AtVec(i) * z.AtVec(i)
			sum[a] += v
			sumsq[a] += v * v
		}
	}
	mean, half = make([]float64, p), make([]float64, p)
	for j := range p {
		mu := sum[j] / float64(m)
		mean[j] = mu
		if m > 1 {
			v := (sumsq[j] - float64(m)*mu*mu) / float64(m-1)
			half[j] = 1.96 * math.Sqrt(math.Max(v, 0)/float64(m))
		}
	}
	return mean, half
}

// bootstrap resamples rows with replacement (each draw carrying its survey
// weight) and takes percentile intervals of each driver's share.
func bootstrap(in DriverInput, w []float64, opt DriverOptions) *Intervals {
	n, p := len(in.Outcome), len(in.Names)
	rng := rand.New(rand.NewPCG(opt.Seed, 0x2545f4914f6cdd1d))
	bo := opt
	bo.Permutations = max(1000, opt.Permutations/10)
	shares := make([][]float64, p)
	bw := make([]float64, n)
	used := 0
	for range opt.Bootstrap {
		clear(bw)
		for range n {
			i := rng.IntN(n)
			bw[i] += w[i]
		}
		c, err := correlations(in, bw)
		if err != nil {
			continue
		}
		d, err := decompose(c, in.Names, bo, rng)
		if err != nil {
			continue
		}
		used++
		for j := range p {
			shares[j] = append(shares[j], d.LMGRela[j])
		}
	}
	iv := &Intervals{Level: 0.95, Replicates: used, Seed: opt.Seed, LMGRela: make([][2]float64, p)}
	for j := range p {
		if used == 0 {
			iv.LMGRela[j] = [2]float64{math.NaN(), math.NaN()}
			continue
		}
		slices.Sort(shares[j])
		iv.LMGRela[j] = [2]float64{stat.Quantile(0.025, stat.LinInterp, shares[j], nil), stat.Quantile(0.975, stat.LinInterp, shares[j], nil)}
	}
	return iv
}

// named is an object of per-predictor values printed in predictor order.
type named[T any] struct {
	names  []string
	values []T
}

func (n named[T]) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, name := range n.names {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(name)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(n.values[i])
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// driversOut is the JSON of a Drivers: `warden insights drivers`
// (CONTRACT §9); the keys after pratt are extras.
type driversOut struct {
	N            int                   `json:"n"`
	R2           float64               `json:"r2"`
	LMG          named[float64]        `json:"lmg"`
	LMGRela      named[float64]        `json:"lmg_rela"`
	Johnson      named[float64]        `json:"johnson"`
	First        named[float64]        `json:"first"`
	Last         named[float64]        `json:"last"`
	Betasq       named[float64]        `json:"betasq"`
	Pratt        named[float64]        `json:"pratt"`
	Method       string                `json:"method"`
	Permutations int                   `json:"permutations,omitempty"`
	LMGError     *named[float64]       `json:"lmg_error,omitempty"`
	Intervals    *named[[2]float64]    `json:"lmg_rela_interval,omitempty"`
	Bootstrap    *driversBootstrapInfo `json:"bootstrap,omitempty"`
}

type driversBootstrapInfo struct {
	Level      float64 `json:"level"`
	Replicates int     `json:"replicates"`
	Seed       uint64  `json:"seed"`
}

// MarshalJSON writes d as CONTRACT §9 has it: {"n", "r2", "lmg": {name:
// v}, "lmg_rela", "johnson", "first", "last", "betasq", "pratt"}, each
// object in predictor order, then the method and, where there are, the
// sampling error bound and the bootstrap intervals.
func (d *Drivers) MarshalJSON() ([]byte, error) {
	nm := func(v []float64) named[float64] { return named[float64]{d.Names, v} }
	out := driversOut{N: d.N, R2: d.R2, LMG: nm(d.LMG), LMGRela: nm(d.LMGRela), Johnson: nm(d.Johnson),
		First: nm(d.First), Last: nm(d.Last), Betasq: nm(d.Betasq), Pratt: nm(d.Pratt), Method: d.Method, Permutations: d.Permutations}
	if d.LMGError != nil {
		e := nm(d.LMGError)
		out.LMGError = &e
	}
	if iv := d.Intervals; iv != nil {
		out.Intervals = &named[[2]float64]{d.Names, iv.LMGRela}
		out.Bootstrap = &driversBootstrapInfo{iv.Level, iv.Replicates, iv.Seed}
	}
	return json.Marshal(out)
}
