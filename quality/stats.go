package quality

import "math"

// Interval is a proportion k/n with its Wilson score interval at 95 %
// (Wilson 1927), which stays inside [0, 1] and is honest for small n and
// for proportions near 0 or 1, where the normal approximation is not. With
// n = 0 the value is unknown: Value, Low and High are 0 and Known false.
type Interval struct {
	K     int     `json:"k"`
	N     int     `json:"n"`
	Value float64 `json:"value"`
	Low   float64 `json:"low"`
	High  float64 `json:"high"`
	Known bool    `json:"known"`
}

// z95 is the two-sided 95 % normal quantile.
const z95 = 1.959963984540054

// Wilson returns k of n with its 95 % Wilson interval.
func Wilson(k, n int) Interval {
	if n <= 0 {
		return Interval{}
	}
	p := float64(k) / float64(n)
	nf := float64(n)
	z2 := z95 * z95
	den := 1 + z2/nf
	centre := (p + z2/(2*nf)) / den
	half := z95 * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf)) / den
	return Interval{K: k, N: n, Value: p, Low: max(0, centre-half), High: min(1, centre+half), Known: true}
}

// twoProportionZ is the pooled two-proportion z statistic of k1/n1 against
// k0/n0: how many standard errors the first proportion lies above (or,
// negative, below) the second if both came from one proportion. 0 when
// either n is 0 or the pooled proportion is 0 or 1.
func twoProportionZ(k1, n1, k0, n0 float64) float64 {
	if n1 <= 0 || n0 <= 0 {
		return 0
	}
	p := (k1 + k0) / (n1 + n0)
	se := math.Sqrt(p * (1 - p) * (1/n1 + 1/n0))
	if se == 0 {
		return 0
	}
	return (k1/n1 - k0/n0) / se
}
