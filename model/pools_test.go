package model

import (
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// poolSets makes four datasets with both classes where a bot's first feature
// is higher, and one, "flipped", where it is lower: a collection whose labels
// contradict the others.
func poolSets(seed uint64) ([]string, [][][]float64, [][]float64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	names := []string{"a", "b", "c", "flipped", "bots-only"}
	var X [][][]float64
	var y [][]float64
	for d, name := range names {
		var xs [][]float64
		var ys []float64
		for i := range 200 {
			l := float64(i % 2)
			if name == "bots-only" {
				l = 1
			}
			mu := l
			if name == "flipped" {
				mu = 1 - l
			}
			x := make([]float64, len(Names))
			for j := range x {
				x[j] = rng.NormFloat64()
			}
			x[0] += 1.5*mu + 0.1*float64(d)
			xs, ys = append(xs, x), append(ys, l)
		}
		X, y = append(X, xs), append(y, ys)
	}
	return names, X, y
}

func TestSearchPools(t *testing.T) {
	names, X, y := poolSets(1)
	p := DefaultParams(LogReg)
	var fits, total int
	ps, err := SearchPools(names, X, y, p, true, func(n int) { total = n }, func() { fits++ })
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ps.Tests, []int{0, 1, 2, 3}) {
		t.Fatalf("tests = %v, want the four sets with both classes", ps.Tests)
	}
	// Each held-out set: the subsets of the other four, less the one
	// holding only "bots-only".
	if total != 4*(1<<4-1-1) || fits != total {
		t.Fatalf("total %d, fits %d, want %d", total, fits, 4*14)
	}
	all := uint32(1)<<len(names) - 1
	flipped := uint32(1 << 3)
	// A consistent set is scored better without the flipped set in training.
	with, _ := ps.AUC(0, all)
	without, _ := ps.AUC(0, all&^flipped)
	if !(without > with) {
		t.Fatalf("AUC on a with the flipped set %.3f, without %.3f", with, without)
	}
	if got, ok := ps.AUC(0, 1<<4); ok {
		t.Fatalf("a pool of bots only was fitted: %v", got)
	}
	// Held out again, the AUC is what the table says.
	a, err := ps.HeldOut(1, all&^flipped, p)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := ps.AUC(1, all&^flipped); a != b {
		t.Fatalf("HeldOut %v, table %v", a, b)
	}
	// Nested selection never trains on the set it scores, and for the
	// consistent sets it learns from the others to leave the flipped one out.
	for _, n := range ps.Nested() {
		if n.Policy&(1<<n.Test) != 0 {
			t.Fatalf("the pool chosen for %s contains it: %v", names[n.Test], ps.PolicyNames(n.Policy))
		}
		if n.Test == 3 {
			continue
		}
		if n.Policy&flipped != 0 || !(n.AUC > n.AllAUC) {
			t.Errorf("nested for %s chose %v: AUC %.3f, all data %.3f", names[n.Test], ps.PolicyNames(n.Policy), n.AUC, n.AllAUC)
		}
		if math.IsNaN(n.InnerMean) || n.InnerMean <= 0.5 {
			t.Errorf("inner mean %v", n.InnerMean)
		}
	}
	best, _ := ps.Best(ps.Tests, 0)
	if best&flipped != 0 {
		t.Errorf("best policy %v keeps the flipped set", ps.PolicyNames(best))
	}
}

func TestSearchPoolsOrderFree(t *testing.T) {
	names, X, y := poolSets(2)
	p := DefaultParams(GBT)
	p.Rounds, p.Bags = 10, 1
	a, err := SearchPools(names, X, y, p, true, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := SearchPools(names, X, y, p, true, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.auc) == 0 || !maps.Equal(a.auc, b.auc) {
		t.Fatal("two searches of the same data differ")
	}
}

func TestSearchPoolsRefuses(t *testing.T) {
	names, X, y := poolSets(3)
	if _, err := SearchPools(names[3:], X[3:], y[3:], DefaultParams(LogReg), true, nil, nil); err == nil {
		t.Fatal("one set with both classes was accepted")
	}
	many := make([]string, MaxPoolDatasets+1)
	if _, err := SearchPools(many, make([][][]float64, len(many)), make([][]float64, len(many)), DefaultParams(LogReg), true, nil, nil); err == nil {
		t.Fatal("too many datasets were accepted")
	}
}
