package model

import (
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
)

// trainRF grows a random forest: Rounds trees, each on its own bootstrap
// sample of the rows and trying MaxFeatures random features (0: the square
// root of the feature count) at each split. A tree's leaf holds the
// weighted bot share of its bootstrap rows, divided by the number of trees,
// so the forest's score, the mean of the leaf shares, is the sum of its
// trees' outputs, and the Saabas walk explains it as it explains gbt.
func (m *Model) trainRF(X [][]float64, y, wt []float64) {
	n, nf := len(X), len(X[0])
	bn := newBinner(X, nf)
	B := bn.bin(X)
	mtry := m.Params.MaxFeatures
	if mtry <= 0 {
		mtry = max(1, int(math.Round(math.Sqrt(float64(nf)))))
	}
	T := m.Params.Rounds
	m.Trees = make([]*Tree, T)
	// Tree t draws from seed 1000·Seed + t, so the forest is the same
	// however many goroutines grow it.
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g, h := make([]float64, n), make([]float64, n)
			for t := range next {
				rng := rand.New(rand.NewPCG(m.Params.Seed*1000+uint64(t), 0x5851f42d4c957f2d))
				cnt := bootstrap(rng, n)
				rows := make([]int, 0, n)
				for i, c := range cnt {
					g[i], h[i] = -y[i]*wt[i]*float64(c), wt[i]*float64(c)
					if c > 0 {
						rows = append(rows, i)
					}
				}
				tp := treeParams{depth: m.Params.Depth, minLeaf: m.Params.MinLeaf, shrink: 1 / float64(T), minGain: 1e-9,
					features: allFeatures(nf), mtry: mtry, rng: rng}
				tr := growTree(bn, B, g, h, rows, tp)
				for i, v := range tr.Value {
					// Seven decimals (a share to 5e-6 with 50 trees) keep
					// the file small; the scores do not move visibly.
					tr.Value[i] = math.Round(v*1e7) / 1e7
				}
				m.Trees[t] = tr
			}
		}()
	}
	for t := range T {
		next <- t
	}
	close(next)
	wg.Wait()
}

// bootstrap draws n rows with replacement and returns how often each was
// drawn.
func bootstrap(rng *rand.Rand, n int) []int32 {
	cnt := make([]int32, n)
	for range n {
		cnt[rng.IntN(n)]++
	}
	return cnt
}

// trainBlend trains gbt and rf with their default parameters (and this
// model's seed) as the parts whose probabilities Score averages.
func (m *Model) trainBlend(X [][]float64, y, wt []float64) error {
	for _, l := range []string{GBT, RF} {
		p := DefaultParams(l)
		p.Seed = m.Params.Seed
		part, err := TrainWeighted(X, y, wt, p)
		if err != nil {
			return err
		}
		part.Format, part.Version, part.Features, part.N = "", 0, nil, 0
		m.Parts = append(m.Parts, part)
	}
	return nil
}
