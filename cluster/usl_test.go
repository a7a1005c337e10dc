package cluster

import (
	"math"
	"testing"
)

func TestFitUSLRecoversTheLaw(t *testing.T) {
	want := USL{Lambda: 1000, Sigma: 0.1, Kappa: 0.02}
	got, err := FitUSL(want.Predict(1), want.Predict(2), want.Predict(3))
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got.Lambda-want.Lambda) > 1e-9 || math.Abs(got.Sigma-want.Sigma) > 1e-9 || math.Abs(got.Kappa-want.Kappa) > 1e-9 {
		t.Fatalf("FitUSL = %+v, want %+v", got, want)
	}
	if p := got.Peak(); math.Abs(p-math.Sqrt(0.9/0.02)) > 1e-9 {
		t.Fatalf("Peak = %v", p)
	}
	// Linear scaling: no contention, no crosstalk.
	lin, _ := FitUSL(100, 200, 300)
	if math.Abs(lin.Sigma) > 1e-12 || math.Abs(lin.Kappa) > 1e-12 || lin.Predict(8) != 800 {
		t.Fatalf("linear: %+v, X(8) = %v", lin, lin.Predict(8))
	}
	// Noisy points that ask for κ < 0 are fitted with κ = 0: Amdahl's law.
	am, _ := FitUSL(11141, 13332, 15224)
	if am.Kappa != 0 || math.Abs(am.Sigma-0.6124) > 0.001 || am.Predict(8) < 16000 || am.Predict(8) > 17500 {
		t.Fatalf("κ<0 points: %+v, X(8) = %v", am, am.Predict(8))
	}
	// And points that ask for σ < 0 are fitted with σ = 0.
	if u, _ := FitUSL(1888, 3987, 2181); u.Sigma != 0 || u.Kappa <= 0 || u.Predict(3) >= 3*1888 {
		t.Fatalf("σ<0 points: %+v", u)
	}
	if _, err := FitUSL(0, 1, 2); err == nil {
		t.Fatal("a zero throughput was fitted")
	}
}
