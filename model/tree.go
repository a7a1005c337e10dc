package model

import (
	"math"
	"math/rand/v2"
	"sort"
)

// maxBins is the number of value bins per feature a tree considers for its
// splits (plus one for missing values). Quantile bins make training
// O(rows × features) per level and are robust to heavy-tailed counts. 128
// rather than 48: finer cuts at the low end of the counts, where fake
// followers live, lifted the held-out AUC on cresci-2015 (docs/detection.md).
// At most 254, so that a bin index fits in a uint8.
const maxBins = 128

// binner maps raw feature values to bins 1..len(cuts)+1; bin 0 is missing.
type binner struct {
	cuts [][]float64 // per feature, ascending upper bounds of bins 1..n
}

func newBinner(X [][]float64, nf int) *binner {
	b := &binner{cuts: make([][]float64, nf)}
	vals := make([]float64, 0, len(X))
	for f := 0; f < nf; f++ {
		vals = vals[:0]
		for _, x := range X {
			if !math.IsNaN(x[f]) {
				vals = append(vals, x[f])
			}
		}
		sort.Float64s(vals)
		var cuts []float64
		for q := 1; q < maxBins; q++ {
			if len(vals) == 0 {
				break
			}
			v := vals[q*len(vals)/maxBins]
			// Cut between distinct values only, at the midpoint below v.
			i := sort.SearchFloat64s(vals, v)
			if i == 0 {
				continue
			}
			c := (vals[i-1] + v) / 2
			if len(cuts) == 0 || c > cuts[len(cuts)-1] {
				cuts = append(cuts, c)
			}
		}
		b.cuts[f] = cuts
	}
	return b
}

func (b *binner) bin(X [][]float64) [][]uint8 {
	out := make([][]uint8, len(X))
	for i, x := range X {
		row := make([]uint8, len(b.cuts))
		for f, c := range b.cuts {
			if math.IsNaN(x[f]) {
				continue
			}
			row[f] = uint8(1 + sort.SearchFloat64s(c, x[f]))
		}
		out[i] = row
	}
	return out
}

// Tree is a binary decision tree in flat arrays. Node i is a leaf when
// Left[i] < 0. At a split, x[Feat] <= Thr goes left, a missing value goes left
// when MissLeft. Value is the node's output (for inner nodes, what it would
// output as a leaf; explanations use the difference along the path).
type Tree struct {
	Feat     []int     `json:"feat"`
	Thr      []float64 `json:"thr"`
	MissLeft []bool    `json:"miss_left"`
	Left     []int     `json:"left"`
	Right    []int     `json:"right"`
	Value    []float64 `json:"value"`
}

// Predict returns the leaf value for x.
func (t *Tree) Predict(x []float64) float64 {
	i := 0
	for t.Left[i] >= 0 {
		v := x[t.Feat[i]]
		if (math.IsNaN(v) && t.MissLeft[i]) || v <= t.Thr[i] {
			i = t.Left[i]
		} else {
			i = t.Right[i]
		}
	}
	return t.Value[i]
}

// treeParams control growing one tree on gradients g and hessians h: the
// second-order (Newton) formulation of gradient boosting. With g = -y, h = 1
// and lambda = 0 it is an ordinary regression tree on y, the baseline.
type treeParams struct {
	depth    int
	minLeaf  int     // minimum rows in a child
	lambda   float64 // L2 regularisation of leaf values
	minGain  float64
	shrink   float64    // leaf values are multiplied by this (learning rate)
	features []int      // candidate features
	mtry     int        // > 0: try only this many of them, drawn at each split (random forest)
	rng      *rand.Rand // draws them
}

type grower struct {
	p     treeParams
	B     [][]uint8
	cuts  [][]float64
	nbins []int
	g, h  []float64
	t     *Tree
	perm  []int // scratch for drawing a split's features
}

func growTree(bn *binner, B [][]uint8, g, h []float64, rows []int, p treeParams) *Tree {
	nbins := make([]int, len(bn.cuts))
	for f, c := range bn.cuts {
		nbins[f] = len(c) + 1
	}
	gr := &grower{p: p, B: B, cuts: bn.cuts, nbins: nbins, g: g, h: h, t: &Tree{}}
	gr.grow(rows, 0)
	return gr.t
}

func (gr *grower) leafValue(G, H float64) float64 { return -G / (H + gr.p.lambda) * gr.p.shrink }

func (gr *grower) grow(rows []int, depth int) int {
	var G, H float64
	for _, r := range rows {
		G += gr.g[r]
		H += gr.h[r]
	}
	t := gr.t
	id := len(t.Value)
	t.Feat = append(t.Feat, 0)
	t.Thr = append(t.Thr, 0)
	t.MissLeft = append(t.MissLeft, false)
	t.Left = append(t.Left, -1)
	t.Right = append(t.Right, -1)
	t.Value = append(t.Value, gr.leafValue(G, H))
	if depth >= gr.p.depth || len(rows) < 2*gr.p.minLeaf {
		return id
	}
	lam := gr.p.lambda
	score := func(g, h float64) float64 { return g * g / (h + lam) }
	parent := score(G, H)
	best, bf, bb, bmiss := gr.p.minGain, -1, 0, false
	var hg, hh []float64
	var hn []int
	for _, f := range gr.splitFeatures() {
		nb := gr.nbins[f] + 1
		if cap(hg) < nb {
			hg, hh, hn = make([]float64, nb), make([]float64, nb), make([]int, nb)
		}
		hg, hh, hn = hg[:nb], hh[:nb], hn[:nb]
		clear(hg)
		clear(hh)
		clear(hn)
		for _, r := range rows {
			b := gr.B[r][f]
			hg[b] += gr.g[r]
			hh[b] += gr.h[r]
			hn[b]++
		}
		// Left takes bins 1..b; missing (bin 0) goes to either side.
		var lg, lh float64
		ln := 0
		for b := 1; b < nb-1; b++ {
			lg += hg[b]
			lh += hh[b]
			ln += hn[b]
			for _, missLeft := range [2]bool{false, true} {
				g1, h1, n1 := lg, lh, ln
				if missLeft {
					g1, h1, n1 = g1+hg[0], h1+hh[0], n1+hn[0]
				}
				n2 := len(rows) - n1
				if n1 < gr.p.minLeaf || n2 < gr.p.minLeaf {
					continue
				}
				gain := score(g1, h1) + score(G-g1, H-h1) - parent
				if gain > best {
					best, bf, bb, bmiss = gain, f, b, missLeft
				}
			}
		}
	}
	if bf < 0 {
		return id
	}
	var left, right []int
	for _, r := range rows {
		b := int(gr.B[r][bf])
		if (b == 0 && bmiss) || (b != 0 && b <= bb) {
			left = append(left, r)
		} else {
			right = append(right, r)
		}
	}
	t.Feat[id], t.MissLeft[id] = bf, bmiss
	t.Thr[id] = gr.cut(bf, bb)
	l := gr.grow(left, depth+1)
	r := gr.grow(right, depth+1)
	t.Left[id], t.Right[id] = l, r
	return id
}

// splitFeatures returns the features a split tries: all of them, or mtry
// drawn without replacement (a partial Fisher-Yates shuffle).
func (gr *grower) splitFeatures() []int {
	k := gr.p.mtry
	if k <= 0 || k >= len(gr.p.features) {
		return gr.p.features
	}
	gr.perm = append(gr.perm[:0], gr.p.features...)
	for i := range k {
		j := i + gr.p.rng.IntN(len(gr.perm)-i)
		gr.perm[i], gr.perm[j] = gr.perm[j], gr.perm[i]
	}
	return gr.perm[:k]
}

func (gr *grower) cut(f, b int) float64 { return gr.cuts[f][b-1] }
