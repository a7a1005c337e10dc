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

// FitUSL fits the law to the throughputs of 1, 2 and 3 nodes: λ = x1, and
// σ and κ through the 2- and 3-node points of the linearised law
// N·λ/X(N) − 1 = σ(N−1) + κN(N−1) — exactly when that solution is physical
// (0 ≤ σ ≤ 1, κ ≥ 0), else by least squares with the parameter out of
// range held at its bound (noisy points often ask for a negative κ or σ,
// whose predictions run away).
func FitUSL(x1, x2, x3 float64) (USL, error) {
	if x1 <= 0 || x2 <= 0 || x3 <= 0 {
		return USL{}, fmt.Errorf("cluster: throughputs must be positive, not %v, %v, %v", x1, x2, x3)
	}
	y2, y3 := 2*x1/x2-1, 3*x1/x3-1 // = σ + 2κ and 2σ + 6κ
	kappa := (y3 - 2*y2) / 2
	sigma := y2 - 2*kappa
	// The regressors of σ and κ at N = 2 and 3.
	const s2, s3, k2, k3 = 1.0, 2.0, 2.0, 6.0
	switch {
	case kappa < 0:
		kappa = 0
		sigma = (y2*s2 + y3*s3) / (s2*s2 + s3*s3)
	case sigma < 0:
		sigma = 0
		kappa = (y2*k2 + y3*k3) / (k2*k2 + k3*k3)
	case sigma > 1:
		sigma = 1
		kappa = ((y2-s2)*k2 + (y3-s3)*k3) / (k2*k2 + k3*k3)
	}
	sigma = min(max(sigma, 0), 1)
	kappa = max(kappa, 0)
	return USL{Lambda: x1, Sigma: sigma, Kappa: kappa}, nil
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
