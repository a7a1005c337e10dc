package model

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// Metrics are detection quality at threshold 0.5 plus the ranking quality
// (AUC), on accounts the model did not train on.
type Metrics struct {
	Accuracy  float64 `json:"accuracy"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	MCC       float64 `json:"mcc"`
	AUC       Num     `json:"auc"` // null when the test set has one class
}

// Num is a float64 that is written as null in JSON when it is NaN.
type Num float64

// MarshalJSON writes null for NaN, which JSON cannot carry.
func (n Num) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(n)) || math.IsInf(float64(n), 0) {
		return []byte("null"), nil
	}
	return json.Marshal(float64(n))
}

// Baseline is the depth-limited tree on the same inputs (CONTRACT §5).
type Baseline struct {
	Name     string  `json:"name"`
	Accuracy float64 `json:"accuracy"`
	MCC      float64 `json:"mcc"`
	AUC      Num     `json:"auc"`
}

// Result is what `warden eval --json` prints.
type Result struct {
	Protocol string   `json:"protocol"`
	Learner  string   `json:"learner"`
	Train    []string `json:"train,omitempty"`
	Test     string   `json:"test"`
	N        int      `json:"n"`
	Bots     int      `json:"bots"`
	Humans   int      `json:"humans"`
	Metrics
	Baseline Baseline `json:"baseline"`
}

// Compute returns the metrics of scores against labels y.
func Compute(y, score []float64) Metrics {
	var tp, fp, tn, fn float64
	for i, s := range score {
		switch {
		case s >= 0.5 && y[i] == 1:
			tp++
		case s >= 0.5:
			fp++
		case y[i] == 1:
			fn++
		default:
			tn++
		}
	}
	div := func(a, b float64) float64 {
		if b == 0 {
			return 0
		}
		return a / b
	}
	m := Metrics{Accuracy: div(tp+tn, tp+tn+fp+fn), Precision: div(tp, tp+fp), Recall: div(tp, tp+fn)}
	m.F1 = div(2*m.Precision*m.Recall, m.Precision+m.Recall)
	m.MCC = div(tp*tn-fp*fn, math.Sqrt((tp+fp)*(tp+fn)*(tn+fp)*(tn+fn)))
	m.AUC = Num(AUC(y, score))
	return m
}

// AUC is the area under the ROC curve: the probability that a random bot
// scores above a random human, ties counting half. It is NaN when one class
// is absent.
func AUC(y, score []float64) float64 {
	idx := make([]int, len(y))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return score[idx[a]] < score[idx[b]] })
	var rankSum, pos float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && score[idx[j]] == score[idx[i]] {
			j++
		}
		avg := float64(i+j+1) / 2 // mean 1-based rank of the tie group
		for k := i; k < j; k++ {
			if y[idx[k]] == 1 {
				rankSum += avg
				pos++
			}
		}
		i = j
	}
	neg := float64(len(y)) - pos
	if pos == 0 || neg == 0 {
		return math.NaN()
	}
	return (rankSum - pos*(pos+1)/2) / (pos * neg)
}

// Folds assigns each row to one of k folds, stratified by label and
// shuffled with seed, so every fold has the dataset's class balance.
func Folds(y []float64, k int, seed uint64) []int {
	rng := rand.New(rand.NewPCG(seed, 0xda3e39cb94b95bdb))
	fold := make([]int, len(y))
	for _, cls := range []float64{0, 1} {
		var rows []int
		for i, v := range y {
			if v == cls {
				rows = append(rows, i)
			}
		}
		rng.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
		for j, r := range rows {
			fold[r] = j % k
		}
	}
	return fold
}

// CrossValidate scores every row of X with a model trained on the other
// folds, for the learner p and the baseline tree b, and returns the metrics
// of those out-of-fold scores. step, if not nil, is called after each fit.
func CrossValidate(X [][]float64, y []float64, k int, seed uint64, p, b Params, step func()) (Metrics, Metrics, error) {
	if k < 2 {
		return Metrics{}, Metrics{}, fmt.Errorf("need at least 2 folds")
	}
	var pos int
	for _, v := range y {
		if v == 1 {
			pos++
		}
	}
	if pos < k || len(y)-pos < k {
		return Metrics{}, Metrics{}, fmt.Errorf("%d bots and %d humans are too few for %d folds", pos, len(y)-pos, k)
	}
	fold := Folds(y, k, seed)
	s, sb := make([]float64, len(y)), make([]float64, len(y))
	for f := 0; f < k; f++ {
		var tx [][]float64
		var ty []float64
		for i := range X {
			if fold[i] != f {
				tx, ty = append(tx, X[i]), append(ty, y[i])
			}
		}
		for j, pp := range []Params{p, b} {
			pp.Seed = seed + uint64(f)
			m, err := Train(tx, ty, pp)
			if err != nil {
				return Metrics{}, Metrics{}, err
			}
			dst := s
			if j == 1 {
				dst = sb
			}
			for i := range X {
				if fold[i] == f {
					dst[i] = m.Score(X[i])
				}
			}
			if step != nil {
				step()
			}
		}
	}
	return Compute(y, s), Compute(y, sb), nil
}

// GroupWeights returns row weights that give every group (a dataset and
// class) the same total weight, summing to the number of rows.
func GroupWeights(groups []string) []float64 {
	n := map[string]int{}
	for _, g := range groups {
		n[g]++
	}
	w := make([]float64, len(groups))
	for i, g := range groups {
		w[i] = float64(len(groups)) / float64(len(n)*n[g])
	}
	return w
}

// TrainTest trains on (X, y) with row weights wt (nil: equal) and scores
// (TX, Ty), for learner p and baseline b.
func TrainTest(X [][]float64, y, wt []float64, TX [][]float64, Ty []float64, p, b Params) (Metrics, Metrics, error) {
	var out [2]Metrics
	for j, pp := range []Params{p, b} {
		m, err := TrainWeighted(X, y, wt, pp)
		if err != nil {
			return Metrics{}, Metrics{}, err
		}
		s := make([]float64, len(TX))
		for i, x := range TX {
			s[i] = m.Score(x)
		}
		out[j] = Compute(Ty, s)
	}
	return out[0], out[1], nil
}

// Held is one dataset's result under leave-one-dataset-out.
type Held struct {
	Test      int      // index of the held-out dataset
	Train     []string // the datasets trained on
	M, BM     Metrics  // the learner's and the baseline's
	Bots, Hum int
}

// LeaveOneOut holds out, in turn, every dataset that has both classes,
// trains p and the baseline b on all the others (each dataset and class
// weighted equally when balance) and scores the held-out one. names, X and
// y are per dataset. step, if not nil, is called after each held-out set.
func LeaveOneOut(names []string, X [][][]float64, y [][]float64, p, b Params, balance bool, step func()) ([]Held, error) {
	var out []Held
	for t := range names {
		h := Held{Test: t}
		for _, v := range y[t] {
			if v == 1 {
				h.Bots++
			} else {
				h.Hum++
			}
		}
		if h.Bots == 0 || h.Hum == 0 {
			continue // AUC needs both classes
		}
		pool := &Pool{}
		for d := range names {
			if d != t {
				pool.Add(names[d], X[d], y[d])
			}
		}
		var wt []float64
		if balance {
			wt = GroupWeights(pool.Groups)
		}
		var err error
		if h.M, h.BM, err = TrainTest(pool.X, pool.Y, wt, X[t], y[t], p, b); err != nil {
			return nil, err
		}
		h.Train = pool.Names
		out = append(out, h)
		if step != nil {
			step()
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no dataset has both bots and humans to hold out")
	}
	return out, nil
}
