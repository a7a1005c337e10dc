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
	if _, err := FitUSL(0, 1, 2); err == nil {
		t.Fatal("a zero throughput was fitted")
	}
}
