package insights

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/wardenhq/warden"
)

// z95 is the standard normal quantile of a two-sided 95 % interval.
const z95 = 1.959963984540054

// Estimate is a weighted estimate with its 95 % interval. The standard
// error accounts for unequal weights through Kish's design effect:
// se = sqrt(deff · s² / n), s² the weighted variance.
type Estimate struct {
	Value float64 `json:"value"`
	SE    float64 `json:"se"`
	Low   float64 `json:"low"`
	High  float64 `json:"high"`
}

// TrustIndex is the trust item's top-box share and mean for one group.
type TrustIndex struct {
	// N counts the respondents who answered the trust item.
	N    int     `json:"n"`
	Deff float64 `json:"deff"`
	ESS  float64 `json:"ess"`
	// TopBox is the weighted share answering at or above the top-box
	// threshold (top-2-box on the default scale settings).
	TopBox Estimate `json:"top2"`
	Mean   Estimate `json:"mean"`
}

// Trust computes the trust index of answers x with weights w: the share
// with x ≥ topMin and the mean. Fewer than two answers or weights that are
// not positive are an error.
func Trust(x, w []float64, topMin float64) (TrustIndex, error) {
	n := len(x)
	if n < 2 || len(w) != n {
		return TrustIndex{}, warden.FieldErrorf("trust", "a trust index needs at least two answers (got %d)", n)
	}
	for _, v := range w {
		if !(v > 0) || math.IsInf(v, 0) {
			return TrustIndex{}, warden.FieldErrorf("weight", "weights must be finite and > 0")
		}
	}
	deff, ess := Kish(w)
	top := make([]float64, n)
	for i, v := range x {
		if v >= topMin {
			top[i] = 1
		}
	}
	est := func(y []float64, bounds bool) Estimate {
		m := WeightedMean(y, w)
		var ss, sw float64
		for i, v := range y {
			ss += w[i] * (v - m) * (v - m)
			sw += w[i]
		}
		s2 := ss / sw * float64(n) / float64(n-1)
		se := math.Sqrt(deff * s2 / float64(n))
		e := Estimate{Value: m, SE: se, Low: m - z95*se, High: m + z95*se}
		if bounds {
			e.Low, e.High = math.Max(0, e.Low), math.Min(1, e.High)
		}
		return e
	}
	return TrustIndex{N: n, Deff: deff, ESS: ess, TopBox: est(top, true), Mean: est(x, false)}, nil
}

// Change is the difference between two independent estimates (a later
// wave minus an earlier one) with a two-sided z test at 5 %.
type Change struct {
	Diff        float64 `json:"diff"`
	SE          float64 `json:"se"`
	Z           float64 `json:"z"`
	P           float64 `json:"p"`
	Significant bool    `json:"significant"`
}

// Compare tests now - before. Z is 0 when neither estimate has a sampling
// error.
func Compare(now, before Estimate) Change {
	c := Change{Diff: now.Value - before.Value, SE: math.Hypot(now.SE, before.SE)}
	switch {
	case c.SE > 0:
		c.Z = c.Diff / c.SE
		c.P = 2 * distuv.UnitNormal.Survival(math.Abs(c.Z))
	case c.Diff == 0:
		c.P = 1
	default: // no sampling error and a difference: certain (Z left 0)
		c.P = 0
	}
	c.Significant = c.P < 0.05
	return c
}

// Interval is the 95 % normal interval of the difference.
func (c Change) Interval() (low, high float64) {
	return c.Diff - z95*c.SE, c.Diff + z95*c.SE
}
