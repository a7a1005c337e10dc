package cluster

import (
	"fmt"
	"math"
)

// USL is the Universal Scalability Law (Gunther): the throughput of N
// nodes is X(N) = λN / (1 + σ(N−1) + κN(N−1)), with λ one node's
// throughput, σ the share serialised (contention) and κ the cost of
// keeping nodes coherent (crosstalk).
type USL struct {
	Lambda, Sigma, Kappa float64
}

// FitUSL solves the law through the throughputs of 1, 2 and 3 nodes
// (three points, three parameters: an exact fit, no least squares).
func FitUSL(x1, x2, x3 float64) (USL, error) {
	if x1 <= 0 || x2 <= 0 || x3 <= 0 {
		return USL{}, fmt.Errorf("cluster: throughputs must be positive, not %v, %v, %v", x1, x2, x3)
	}
	// 1 + σ + 2κ = 2λ/x2 and 1 + 2σ + 6κ = 3λ/x3.
	a := 2*x1/x2 - 1
	b := 3*x1/x3 - 1
	kappa := (b - 2*a) / 2
	return USL{Lambda: x1, Sigma: a - 2*kappa, Kappa: kappa}, nil
}

// Predict is the law's throughput for n nodes.
func (u USL) Predict(n int) float64 {
	N := float64(n)
	return u.Lambda * N / (1 + u.Sigma*(N-1) + u.Kappa*N*(N-1))
}

// Peak is the node count past which the law predicts less throughput
// (0 when κ ≤ 0: it never turns down).
func (u USL) Peak() float64 {
	if u.Kappa <= 0 || u.Sigma >= 1 {
		return 0
	}
	// dX/dN = 0 at N* = sqrt((1−σ)/κ).
	return math.Sqrt((1 - u.Sigma) / u.Kappa)
}
