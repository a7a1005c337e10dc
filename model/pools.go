package model

import (
	"fmt"
	"math"
	"runtime"
	"sync"
)

// MaxPoolDatasets bounds SearchPools: it fits one model per held-out dataset
// and subset of the others, 2^(n-1) per held-out set.
const MaxPoolDatasets = 10

// Pools holds, for every dataset with both classes (a "test"), the AUC on it
// of a model trained on each subset of the other datasets: the table behind
// training-data selection (Yang et al. 2020, "Scalable and generalizable
// social bot detection through data selection"). A pool is a bit mask over
// Names.
type Pools struct {
	Names []string
	Tests []int
	auc   map[poolKey]float64
	data  poolData
}

type poolKey struct {
	test int
	mask uint32
}

type poolData struct {
	X       [][][]float64
	y       [][]float64
	balance bool
}

// SearchPools fits learner p on every subset of the other datasets that has
// both classes, for every dataset with both classes, and records the held-out
// AUC. Each (dataset, class) is weighted equally when balance. Fits run on
// GOMAXPROCS goroutines; the table does not depend on their order. step, if
// not nil, is called after each fit, one call at a time; total is called
// first with their number.
func SearchPools(names []string, X [][][]float64, y [][]float64, p Params, balance bool, total func(int), step func()) (*Pools, error) {
	if len(names) > MaxPoolDatasets {
		return nil, fmt.Errorf("a pool search takes at most %d datasets, not %d", MaxPoolDatasets, len(names))
	}
	ps := &Pools{Names: names, auc: map[poolKey]float64{}, data: poolData{X, y, balance}}
	for t := range names {
		if bothClasses(y[t]) {
			ps.Tests = append(ps.Tests, t)
		}
	}
	if len(ps.Tests) < 2 {
		return nil, fmt.Errorf("a pool search needs at least two datasets with both bots and humans")
	}
	var jobs []poolKey
	for _, t := range ps.Tests {
		for mask := uint32(1); mask < 1<<len(names); mask++ {
			if mask&(1<<t) == 0 && ps.trainable(mask) {
				jobs = append(jobs, poolKey{t, mask})
			}
		}
	}
	if total != nil {
		total(len(jobs))
	}
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
		next  = make(chan poolKey)
	)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range next {
				a, err := ps.HeldOut(k.test, k.mask, p)
				mu.Lock()
				if err != nil && first == nil {
					first = err
				}
				ps.auc[k] = a
				if step != nil {
					step()
				}
				mu.Unlock()
			}
		}()
	}
	for _, k := range jobs {
		next <- k
	}
	close(next)
	wg.Wait()
	if first != nil {
		return nil, first
	}
	return ps, nil
}

func bothClasses(y []float64) bool {
	var b, h bool
	for _, v := range y {
		b, h = b || v == 1, h || v != 1
	}
	return b && h
}

// trainable reports whether the pool mask has both classes.
func (ps *Pools) trainable(mask uint32) bool {
	var b, h bool
	for d := range ps.Names {
		if mask&(1<<d) == 0 {
			continue
		}
		for _, v := range ps.data.y[d] {
			b, h = b || v == 1, h || v != 1
		}
	}
	return b && h
}

// pool gathers the rows of the datasets in mask.
func (ps *Pools) pool(mask uint32) *Pool {
	pool := &Pool{}
	for d, name := range ps.Names {
		if mask&(1<<d) != 0 {
			pool.Add(name, ps.data.X[d], ps.data.y[d])
		}
	}
	return pool
}

// HeldOut trains p on the datasets of policy other than test and returns
// its AUC on test.
func (ps *Pools) HeldOut(test int, policy uint32, p Params) (float64, error) {
	m, err := ps.Train(policy&^(1<<test), p)
	if err != nil {
		return 0, err
	}
	s := make([]float64, len(ps.data.X[test]))
	for i, x := range ps.data.X[test] {
		s[i] = m.Score(x)
	}
	return AUC(ps.data.y[test], s), nil
}

// Train fits p on the pool mask, weighted as the search was.
func (ps *Pools) Train(mask uint32, p Params) (*Model, error) {
	pool := ps.pool(mask)
	var wt []float64
	if ps.data.balance {
		wt = GroupWeights(pool.Groups)
	}
	return TrainWeighted(pool.X, pool.Y, wt, p)
}

// AUC returns the held-out AUC on test of the model trained on the datasets
// of policy other than test; ok is false when that pool was not fitted (it
// lacks a class).
func (ps *Pools) AUC(test int, policy uint32) (float64, bool) {
	a, ok := ps.auc[poolKey{test, policy &^ (1 << test)}]
	return a, ok
}

// Mean is the criterion of a policy (a set of datasets to train on) over the
// held-out sets tests: the mean AUC of each, trained on the policy without
// it. ok is false if a held-out set has no fitted pool under the policy.
func (ps *Pools) Mean(policy uint32, tests []int) (float64, bool) {
	var sum float64
	for _, t := range tests {
		a, ok := ps.AUC(t, policy)
		if !ok {
			return 0, false
		}
		sum += a
	}
	return sum / float64(len(tests)), len(tests) > 0
}

// Best returns the policy that maximises Mean over tests among the policies
// that leave out the datasets in exclude; ties go to the larger pool, then
// to the lower mask, so the choice is deterministic.
func (ps *Pools) Best(tests []int, exclude uint32) (policy uint32, mean float64) {
	mean = math.Inf(-1)
	for m := uint32(1); m < 1<<len(ps.Names); m++ {
		if m&exclude != 0 {
			continue
		}
		v, ok := ps.Mean(m, tests)
		if !ok {
			continue
		}
		if v > mean || (v == mean && popcount(m) > popcount(policy)) {
			policy, mean = m, v
		}
	}
	return policy, mean
}

func popcount(m uint32) (n int) {
	for ; m != 0; m &= m - 1 {
		n++
	}
	return n
}

// Nested is one held-out set's result under nested selection.
type Nested struct {
	Test      int
	Policy    uint32  // the pool chosen without looking at Test
	InnerMean float64 // the chosen pool's criterion over the other held-out sets
	AUC       float64 // Test's AUC, trained on the chosen pool
	AllAUC    float64 // Test's AUC, trained on every other dataset
}

// Nested estimates how well selecting a training pool works on a dataset it
// has not seen: for each held-out set, the pool is chosen by the criterion
// over the other held-out sets only (and never contains the held-out set),
// then scored on it. Comparing its AUC with AllAUC says whether selection
// helps on new data; Best over all held-out sets is optimistic, because the
// sets that judge it also chose it.
func (ps *Pools) Nested() []Nested {
	all := uint32(1)<<len(ps.Names) - 1
	var out []Nested
	for _, t := range ps.Tests {
		var inner []int
		for _, v := range ps.Tests {
			if v != t {
				inner = append(inner, v)
			}
		}
		pol, m := ps.Best(inner, 1<<t)
		a, _ := ps.AUC(t, pol)
		allA, _ := ps.AUC(t, all)
		out = append(out, Nested{Test: t, Policy: pol, InnerMean: m, AUC: a, AllAUC: allA})
	}
	return out
}

// Fitted is the number of models the search trained.
func (ps *Pools) Fitted() int { return len(ps.auc) }

// PolicyNames lists the datasets in a policy.
func (ps *Pools) PolicyNames(policy uint32) []string {
	var out []string
	for d, n := range ps.Names {
		if policy&(1<<d) != 0 {
			out = append(out, n)
		}
	}
	return out
}
