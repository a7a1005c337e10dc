// Package model is Warden's bot-likeness model: the account features a live
// platform has (profile and behaviour), the learners (gradient-boosted trees,
// random forests, logistic regression and the depth-limited tree baseline,
// all in pure Go),
// the versioned model file, and the evaluation protocol behind `warden eval`.
package model

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"time"
)

// Format and Version identify a model file. Version changes when the feature
// list or the file layout changes; Load refuses other versions.
const (
	Format  = "warden.botmodel"
	Version = 2
)

// Learner names.
const (
	GBT    = "gbt"    // gradient-boosted trees, logistic loss
	LogReg = "logreg" // L2-regularised logistic regression
	Tree1  = "tree"   // one depth-limited regression tree: the baseline
	RF     = "rf"     // random forest: bootstrap samples, random features per split
	Blend  = "gbt+rf" // the mean of a gbt's and an rf's probabilities
)

// Learners lists the learner names Train accepts.
var Learners = []string{GBT, LogReg, Tree1, RF, Blend}

// Params are the learners' hyper-parameters. They were fixed before any
// test set was scored and are the same for every dataset (docs/detection.md).
type Params struct {
	Learner   string  `json:"learner"`
	Rounds    int     `json:"rounds,omitempty"`
	Depth     int     `json:"depth,omitempty"`
	Rate      float64 `json:"rate,omitempty"`
	MinLeaf   int     `json:"min_leaf,omitempty"`
	Lambda    float64 `json:"lambda,omitempty"`
	Subsample float64 `json:"subsample,omitempty"`
	// Bags > 1 boosts that many models of Rounds trees each, with their own
	// row subsamples, and averages them: the file holds Bags × Rounds trees
	// with their outputs divided by Bags, so scoring and explaining are the
	// same as for one model.
	Bags int `json:"bags,omitempty"`
	// MaxFeatures is how many random features an rf split tries (0: the
	// square root of the feature count). rf's Rounds is its number of trees.
	MaxFeatures int    `json:"max_features,omitempty"`
	Seed        uint64 `json:"seed"`
}

// DefaultParams returns the shipped hyper-parameters for learner.
func DefaultParams(learner string) Params {
	switch learner {
	case LogReg:
		return Params{Learner: LogReg, Rounds: 400, Rate: 0.5, Lambda: 1e-3, Seed: 1}
	case Tree1:
		return Params{Learner: Tree1, Depth: 4, MinLeaf: 5, Seed: 1}
	case RF:
		return Params{Learner: RF, Rounds: 50, Depth: 12, MinLeaf: 5, Seed: 1}
	case Blend:
		return Params{Learner: Blend, Seed: 1}
	}
	return Params{Learner: GBT, Rounds: 100, Bags: 3, Depth: 3, Rate: 0.15, MinLeaf: 10, Lambda: 1, Subsample: 0.8, Seed: 1}
}

// Model is a trained bot-likeness model and its file format (JSON).
type Model struct {
	Format    string    `json:"format"`
	Version   int       `json:"version"`
	Params    Params    `json:"params"`
	Features  []string  `json:"features"`
	TrainedOn []string  `json:"trained_on,omitempty"`
	Created   time.Time `json:"created"`
	N         int       `json:"n"` // training accounts
	Base      float64   `json:"base"`
	Trees     []*Tree   `json:"trees,omitempty"`
	// Logistic regression: standardisation, weights and missing indicators.
	Mean    []float64 `json:"mean,omitempty"`
	Std     []float64 `json:"std,omitempty"`
	W       []float64 `json:"w,omitempty"`
	WMiss   []float64 `json:"w_miss,omitempty"`
	Comment string    `json:"comment,omitempty"`
	// Parts are a blend's models (gbt, rf), whose probabilities Score averages.
	Parts []*Model `json:"parts,omitempty"`

	packOnce sync.Once
	packed   []pnode // all trees' nodes in one array, built on first use
	roots    []int32
}

// pnode is a tree node laid out for scoring: one cache line holds what a
// step needs, where the file's Tree keeps each field in its own array.
type pnode struct {
	thr         float64
	value       float64
	feat        int32
	left, right int32 // indices into packed; left < 0 for a leaf
	missLeft    bool
}

func (m *Model) pack() {
	m.packOnce.Do(func() {
		for _, t := range m.Trees {
			base := int32(len(m.packed))
			m.roots = append(m.roots, base)
			for i := range t.Value {
				n := pnode{thr: t.Thr[i], value: t.Value[i], feat: int32(t.Feat[i]), left: -1, right: -1, missLeft: t.MissLeft[i]}
				if t.Left[i] >= 0 {
					n.left, n.right = base+int32(t.Left[i]), base+int32(t.Right[i])
				}
				m.packed = append(m.packed, n)
			}
		}
	})
}

// walk follows x down the packed tree at root, adding each split's change
// in output to c[feature] when c is not nil, and returns the leaf value.
func (m *Model) walk(root int32, x, c []float64) float64 {
	nodes := m.packed
	i := root
	for {
		n := &nodes[i]
		if n.left < 0 {
			return n.value
		}
		v := x[n.feat]
		next := n.right
		if (v != v && n.missLeft) || v <= n.thr { // v != v: v is NaN
			next = n.left
		}
		if c != nil {
			c[n.feat] += nodes[next].value - n.value
		}
		i = next
	}
}

// Train fits a model on X (rows of len(Names) features, NaN unknown) and
// labels y (1 bot, 0 human).
func Train(X [][]float64, y []float64, p Params) (*Model, error) {
	return TrainWeighted(X, y, nil, p)
}

// TrainWeighted is Train with a weight per row (nil: all 1). Weights let
// training on a pool of datasets give each dataset and class its own share
// instead of letting the largest collection define what a human looks like.
func TrainWeighted(X [][]float64, y, wt []float64, p Params) (*Model, error) {
	if wt == nil {
		wt = make([]float64, len(y))
		for i := range wt {
			wt[i] = 1
		}
	}
	if len(X) == 0 || len(X) != len(y) || len(wt) != len(y) {
		return nil, fmt.Errorf("model: %d rows and %d labels", len(X), len(y))
	}
	nf := len(X[0])
	var pos, tot float64
	for i, v := range y {
		pos += v * wt[i]
		tot += wt[i]
	}
	m := &Model{Format: Format, Version: Version, Params: p, Features: slices.Clone(Names), N: len(X)}
	if nf != len(Names) {
		m.Features = make([]string, nf)
		for i := range m.Features {
			m.Features[i] = fmt.Sprintf("f%d", i)
		}
	}
	switch p.Learner {
	case GBT:
		m.trainGBT(X, y, wt, pos/tot)
	case Tree1:
		m.trainTree(X, y, wt)
	case LogReg:
		m.trainLogReg(X, y, wt, pos/tot)
	case RF:
		m.trainRF(X, y, wt)
	case Blend:
		if err := m.trainBlend(X, y, wt); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("model: unknown learner %q (one of %v)", p.Learner, Learners)
	}
	return m, nil
}

func allFeatures(nf int) []int {
	f := make([]int, nf)
	for i := range f {
		f[i] = i
	}
	return f
}

func (m *Model) trainGBT(X [][]float64, y, wt []float64, prior float64) {
	bn := newBinner(X, len(X[0]))
	B := bn.bin(X)
	prior = math.Min(math.Max(prior, 1e-3), 1-1e-3)
	m.Base = math.Log(prior / (1 - prior))
	if m.Params.Bags <= 1 {
		m.Trees = m.boost(X, B, bn, y, wt, m.Params.Seed)
		return
	}
	// Bag b draws its row subsamples from seed 1000·Seed + b.
	for b := 0; b < m.Params.Bags; b++ {
		for _, t := range m.boost(X, B, bn, y, wt, m.Params.Seed*1000+uint64(b)) {
			for i := range t.Value {
				t.Value[i] /= float64(m.Params.Bags)
			}
			m.Trees = append(m.Trees, t)
		}
	}
}

// boost fits Rounds trees by gradient boosting from m.Base.
func (m *Model) boost(X [][]float64, B [][]uint8, bn *binner, y, wt []float64, seed uint64) []*Tree {
	n, nf := len(X), len(X[0])
	F := make([]float64, n)
	for i := range F {
		F[i] = m.Base
	}
	g, h := make([]float64, n), make([]float64, n)
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	tp := treeParams{depth: m.Params.Depth, minLeaf: m.Params.MinLeaf, lambda: m.Params.Lambda, shrink: m.Params.Rate, minGain: 1e-9, features: allFeatures(nf)}
	rows := make([]int, 0, n)
	var trees []*Tree
	for round := 0; round < m.Params.Rounds; round++ {
		rows = rows[:0]
		for i := range F {
			p := sigmoid(F[i])
			g[i], h[i] = (p-y[i])*wt[i], math.Max(p*(1-p), 1e-6)*wt[i]
			if m.Params.Subsample >= 1 || m.Params.Subsample <= 0 || rng.Float64() < m.Params.Subsample {
				rows = append(rows, i)
			}
		}
		t := growTree(bn, B, g, h, rows, tp)
		trees = append(trees, t)
		for i := range F {
			F[i] += t.Predict(X[i])
		}
	}
	return trees
}

func (m *Model) trainTree(X [][]float64, y, wt []float64) {
	n, nf := len(X), len(X[0])
	bn := newBinner(X, nf)
	g, h := make([]float64, n), make([]float64, n)
	for i := range y {
		g[i], h[i] = -y[i]*wt[i], wt[i]
	}
	tp := treeParams{depth: m.Params.Depth, minLeaf: m.Params.MinLeaf, shrink: 1, minGain: 1e-9, features: allFeatures(nf)}
	m.Trees = []*Tree{growTree(bn, bn.bin(X), g, h, allFeatures(n), tp)}
}

func (m *Model) trainLogReg(X [][]float64, y, wt []float64, prior float64) {
	n, nf := len(X), len(X[0])
	m.Mean, m.Std = make([]float64, nf), make([]float64, nf)
	anyMiss := make([]bool, nf)
	for f := 0; f < nf; f++ {
		var s, s2, c float64
		for _, x := range X {
			if v := x[f]; !math.IsNaN(v) {
				s, s2, c = s+v, s2+v*v, c+1
			} else {
				anyMiss[f] = true
			}
		}
		if c > 0 {
			m.Mean[f] = s / c
			m.Std[f] = math.Sqrt(math.Max(s2/c-m.Mean[f]*m.Mean[f], 0))
		}
		if m.Std[f] < 1e-9 {
			m.Std[f] = 1
		}
	}
	Z := make([][]float64, n)
	for i, x := range X {
		Z[i] = m.standardise(x, nil)
	}
	d := len(Z[0])
	w := make([]float64, d)
	prior = math.Min(math.Max(prior, 1e-3), 1-1e-3)
	b := math.Log(prior / (1 - prior))
	grad := make([]float64, d)
	var sw float64
	for _, v := range wt {
		sw += v
	}
	// Full-batch gradient descent with Nesterov-free momentum: the problem is
	// small and convex, so simple and deterministic beats clever.
	vel := make([]float64, d)
	var vb float64
	for it := 0; it < m.Params.Rounds; it++ {
		clear(grad)
		var gb float64
		for i, z := range Z {
			p := sigmoid(b + dot(w, z))
			e := (p - y[i]) * wt[i]
			for j, v := range z {
				grad[j] += e * v
			}
			gb += e
		}
		for j := range w {
			g := grad[j]/sw + m.Params.Lambda*w[j]
			vel[j] = 0.9*vel[j] - m.Params.Rate*g
			w[j] += vel[j]
		}
		vb = 0.9*vb - m.Params.Rate*gb/sw
		b += vb
	}
	m.Base = b
	m.W = w[:nf]
	m.WMiss = w[nf:]
	for f := range anyMiss {
		if !anyMiss[f] {
			m.WMiss[f] = 0
		}
	}
}

// standardise maps x to z-scores clipped to ±5, unknowns to 0, followed by
// one missing-indicator per feature.
func (m *Model) standardise(x, out []float64) []float64 {
	nf := len(m.Mean)
	if cap(out) < 2*nf {
		out = make([]float64, 2*nf)
	}
	out = out[:2*nf]
	for f := 0; f < nf; f++ {
		if math.IsNaN(x[f]) {
			out[f], out[nf+f] = 0, 1
			continue
		}
		out[f] = math.Max(-5, math.Min(5, (x[f]-m.Mean[f])/m.Std[f]))
		out[nf+f] = 0
	}
	return out
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// Score returns the bot-likeness of x in 0..1.
func (m *Model) Score(x []float64) float64 {
	switch m.Params.Learner {
	case Tree1, RF: // the (mean) leaf share of bots
		return clamp01(m.margin(x))
	case Blend:
		var s float64
		for _, p := range m.Parts {
			s += p.Score(x)
		}
		return s / float64(len(m.Parts))
	}
	return sigmoid(m.margin(x))
}

func clamp01(v float64) float64 { return math.Max(0, math.Min(1, v)) }

// logOdds says whether m's explanations are in log-odds (gbt, logreg) rather
// than in probability (the learners that average class shares, and blends).
func (m *Model) logOdds() bool { return m.Params.Learner == GBT || m.Params.Learner == LogReg }

func (m *Model) margin(x []float64) float64 {
	if m.Params.Learner == LogReg {
		var s float64
		for f, v := range x {
			if math.IsNaN(v) {
				s += m.WMiss[f]
			} else {
				s += m.W[f] * math.Max(-5, math.Min(5, (v-m.Mean[f])/m.Std[f]))
			}
		}
		return m.Base + s
	}
	m.pack()
	s := m.Base
	for _, r := range m.roots {
		s += m.walk(r, x, nil)
	}
	return s
}

// Reason is one fact's push on a score: Feature is the feature that tells
// it (Text, in words), Push the change in score of every feature saying
// the same fact (trees: along the path; logreg: w·z), in log-odds for gbt
// and logreg and in probability for tree, rf and gbt+rf.
type Reason struct {
	Feature int
	Push    float64
	Text    string
}

// facts groups the features that say one fact about an account, so that an
// explanation names each fact once.
var facts = [][]string{
	{"log_followers", "log_followers_per_day"},
	{"log_friends", "log_friends_per_day"},
	{"log_statuses", "log_statuses_per_day"},
	{"log_favourites", "favourites_per_status", "log_favourites_per_day"},
	{"log_listed", "listed_per_follower", "log_listed_per_day"},
	{"screen_name_len", "screen_name_digits", "screen_name_upper_share", "screen_name_distinct_share", "screen_name_underscores"},
	{"name_len", "name_words", "name_digits", "name_screen_name_overlap"},
}

// factIndex maps each feature to its fact in facts, or -1 when it stands
// alone.
var factIndex = func() []int {
	idx := make([]int, len(Names))
	for i := range idx {
		idx[i] = -1
	}
	for g, names := range facts {
		for _, n := range names {
			i := slices.Index(Names, n)
			if i < 0 {
				panic("model: fact names unknown feature " + n)
			}
			idx[i] = g
		}
	}
	return idx
}()

func factOf(f int) int {
	if f < len(factIndex) {
		return factIndex[f]
	}
	return -1
}

// Explain returns the features that pushed x's score towards bot, strongest
// first, at most k, each described in words; none when the score is below
// 0.5, since reasons explain bot-like scores.
func (m *Model) Explain(x []float64, k int) []Reason {
	_, rs := m.ScoreExplain(x, k, nil)
	return rs
}

// contrib returns x's score and adds to c each feature's push on it (Saabas
// along each tree's path; logreg: w·z), in log-odds when m.logOdds() and
// in probability otherwise.
func (m *Model) contrib(x, c []float64) float64 {
	switch m.Params.Learner {
	case LogReg:
		for f, v := range x {
			if math.IsNaN(v) {
				c[f] = m.WMiss[f]
			} else {
				c[f] = m.W[f] * math.Max(-5, math.Min(5, (v-m.Mean[f])/m.Std[f]))
			}
		}
		score := m.Base
		for _, v := range c {
			score += v
		}
		return sigmoid(score)
	case Blend:
		// Each part's pushes in probability: gbt's log-odds times the slope
		// of the sigmoid at its score.
		tmp := make([]float64, len(x))
		var score float64
		for _, p := range m.Parts {
			clear(tmp)
			s, k := p.contrib(x, tmp), 1.0
			if p.logOdds() {
				k = s * (1 - s)
			}
			for f, v := range tmp {
				c[f] += v * k / float64(len(m.Parts))
			}
			score += s / float64(len(m.Parts))
		}
		return score
	}
	m.pack()
	score := m.Base
	for _, r := range m.roots {
		score += m.walk(r, x, c)
	}
	if m.Params.Learner == GBT {
		return sigmoid(score)
	}
	return clamp01(score)
}

// ScoreExplain returns Score(x) and Explain(x, k) in one pass over the
// model; buf, if long enough, is used as scratch space.
func (m *Model) ScoreExplain(x []float64, k int, buf []float64) (float64, []Reason) {
	if len(buf) < len(x) {
		buf = make([]float64, len(x))
	}
	c := buf[:len(x)]
	clear(c)
	score := m.contrib(x, c)
	if score < 0.5 {
		return score, nil
	}
	// Features that say one fact in different ways (likes given, likes
	// per post, likes a day) make one reason: the fact's push is the sum
	// of its features' pushes, told in words by the feature that pushed
	// most. Otherwise "0 likes given" and "gives 0 likes a day" could take
	// two of the k places.
	var rs []Reason
	for f, v := range c {
		g := factOf(f)
		if g < 0 {
			if v > 0 {
				rs = append(rs, Reason{Feature: f, Push: v})
			}
			continue
		}
		i := slices.IndexFunc(rs, func(r Reason) bool { return factOf(r.Feature) == g })
		if i < 0 {
			rs = append(rs, Reason{Feature: f, Push: v})
			continue
		}
		if v > c[rs[i].Feature] {
			rs[i].Feature = f
		}
		rs[i].Push += v
	}
	floor := 0.01 // in probability
	if m.logOdds() {
		floor = 0.05
	}
	rs = slices.DeleteFunc(rs, func(r Reason) bool { return r.Push <= floor })
	sort.Slice(rs, func(i, j int) bool { return rs[i].Push > rs[j].Push })
	if len(rs) > k {
		rs = rs[:k]
	}
	for i := range rs {
		rs[i].Text = Describe(rs[i].Feature, x[rs[i].Feature])
	}
	return score, rs
}

// Write writes m as JSON (compact: the file is embedded in the binary).
func (m *Model) Write(w io.Writer) error {
	return json.NewEncoder(w).Encode(m)
}

// Read reads and checks a model file.
func Read(r io.Reader) (*Model, error) {
	var m Model
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("model file: %v", err)
	}
	if m.Format != Format {
		return nil, fmt.Errorf("model file: format %q is not %q", m.Format, Format)
	}
	if m.Version != Version {
		return nil, fmt.Errorf("model file: version %d; this build reads version %d: retrain with warden model train", m.Version, Version)
	}
	if !slices.Equal(m.Features, Names) {
		return nil, fmt.Errorf("model file: its features differ from this build's; retrain with warden model train")
	}
	if err := m.check(len(m.Features)); err != nil {
		return nil, fmt.Errorf("model file: %v", err)
	}
	return &m, nil
}

func (m *Model) check(nf int) error {
	switch m.Params.Learner {
	case Blend:
		if len(m.Parts) != 2 || m.Parts[0].Params.Learner != GBT || m.Parts[1].Params.Learner != RF {
			return fmt.Errorf("a blend needs a gbt part and an rf part")
		}
		for _, p := range m.Parts {
			if err := p.check(nf); err != nil {
				return err
			}
		}
	case GBT, Tree1, RF:
		if len(m.Trees) == 0 {
			return fmt.Errorf("no trees")
		}
		for ti, t := range m.Trees {
			n := len(t.Value)
			if n == 0 || len(t.Feat) != n || len(t.Thr) != n || len(t.MissLeft) != n || len(t.Left) != n || len(t.Right) != n {
				return fmt.Errorf("tree %d: arrays of different lengths", ti)
			}
			for i := 0; i < n; i++ {
				if t.Left[i] < 0 {
					continue
				}
				// Children come after their parent, so a walk always ends.
				if t.Left[i] <= i || t.Right[i] <= i || t.Left[i] >= n || t.Right[i] >= n || t.Feat[i] < 0 || t.Feat[i] >= nf {
					return fmt.Errorf("tree %d node %d: bad links", ti, i)
				}
			}
		}
	case LogReg:
		if len(m.W) != nf || len(m.WMiss) != nf || len(m.Mean) != nf || len(m.Std) != nf {
			return fmt.Errorf("logistic regression has %d weights for %d features", len(m.W), nf)
		}
	default:
		return fmt.Errorf("unknown learner %q", m.Params.Learner)
	}
	return nil
}
