package main

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEvalUsage(t *testing.T) {
	for _, args := range [][]string{
		{"eval", "--pools", "--data", "x"},
		{"eval", "--lockstep", "--pools"},
		{"eval", "--lockstep", "--lodo", "a,b"},
		{"eval", "--lockstep", "--lockstep-targets", "8"},
		{"eval", "--lockstep", "--crowd-spread", "-1s"},
		{"eval", "--crowd-spread", "30s", "--data", "x"},
	} {
		if _, code := run(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (bad usage)", args, code)
		}
	}
}

// TestEvalPools runs training-data selection on four small made-up
// datasets in the evaluation format, one of them with its labels flipped.
func TestEvalPools(t *testing.T) {
	var dirs []string
	rng := rand.New(rand.NewPCG(1, 2))
	for _, name := range []string{"a", "b", "c", "flipped"} {
		dir := filepath.Join(t.TempDir(), name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		b.WriteString("account,label,followers_count,friends_count,statuses_count\n")
		for i := range 200 {
			bot := i%2 == 1
			label := map[bool]string{true: "bot", false: "human"}[bot]
			if name == "flipped" {
				label = map[bool]string{true: "human", false: "bot"}[bot]
			}
			// Log friends one standard deviation higher for bots.
			mu := 5.0
			if bot {
				mu = 6
			}
			friends := math.Exp(mu + rng.NormFloat64())
			fmt.Fprintf(&b, "%s%d,%s,%d,%d,%d\n", name, i, label, 50+rng.IntN(50), int(friends), 10+rng.IntN(50))
		}
		if err := os.WriteFile(filepath.Join(dir, "accounts.csv"), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, dir)
	}
	out, code := run(t, "eval", "--lodo", strings.Join(dirs, ","), "--pools", "--learner", "logreg", "--json")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	var rep poolReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// Each of the four is held out and trained on every non-empty subset
	// of the other three.
	if rep.Fitted != 4*7 || len(rep.HeldOut) != 4 {
		t.Fatalf("fitted %d pools, %d held-out rows: %s", rep.Fitted, len(rep.HeldOut), out)
	}
	for _, h := range rep.HeldOut {
		if h.Test == "a" && (strings.Join(h.NestedTrain, ",") != "b,c" || h.NestedAUC < 0.65) {
			t.Errorf("held out a: nested pool %v, AUC %.3f; want b and c, and the bots found", h.NestedTrain, h.NestedAUC)
		}
		for _, n := range h.NestedTrain {
			if n == h.Test {
				t.Errorf("the pool for %s contains it", h.Test)
			}
		}
	}
}
