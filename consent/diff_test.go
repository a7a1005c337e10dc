package consent

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// sides returns the lines a diff keeps or removes (the old text) and the
// lines it keeps or adds (the new one).
func sides(d []Edit) (a, b []string) {
	for _, e := range d {
		if e.Op != '+' {
			a = append(a, e.Line)
		}
		if e.Op != '-' {
			b = append(b, e.Line)
		}
	}
	return
}

// lcs is the length of the longest common subsequence, by dynamic
// programming: the number of lines a shortest diff keeps.
func lcs(a, b []string) int {
	dp := make([][]int, len(a)+1)
	for i := range dp {
		dp[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				dp[i][j] = dp[i+1][j+1] + 1
			} else {
				dp[i][j] = max(dp[i+1][j], dp[i][j+1])
			}
		}
	}
	return dp[0][0]
}

func checkDiff(t *testing.T, a, b []string) {
	t.Helper()
	d := LineDiff(a, b)
	ga, gb := sides(d)
	if !slices.Equal(ga, a) || !slices.Equal(gb, b) {
		t.Fatalf("diff of %q → %q does not reproduce them: %q", a, b, d)
	}
	kept := len(d) - changedLines(d)
	if want := lcs(a, b); kept != want {
		t.Fatalf("diff of %q → %q keeps %d lines, the longest common subsequence has %d: %q", a, b, kept, want, d)
	}
}

func TestLineDiff(t *testing.T) {
	d := LineDiff(strings.Split("a\nb\nc\nd", "\n"), strings.Split("a\nc\nd\ne", "\n"))
	if got := FormatDiff(d); got != "  a\n- b\n  c\n  d\n+ e\n" {
		t.Errorf("diff:\n%s", got)
	}
	checkDiff(t, nil, nil)
	checkDiff(t, []string{"x"}, nil)
	checkDiff(t, nil, []string{"x"})
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		a := make([]string, r.IntN(12))
		b := make([]string, r.IntN(12))
		for i := range a {
			a[i] = string(rune('a' + r.IntN(4)))
		}
		for i := range b {
			b[i] = string(rune('a' + r.IntN(4)))
		}
		checkDiff(t, a, b)
	}
}

func TestLineDiffPastTheEditBoundStillReproduces(t *testing.T) {
	var a, b []string
	for i := range 3 * maxEdits {
		a = append(a, "old "+string(rune(i)))
		b = append(b, "new "+string(rune(i)))
	}
	d := LineDiff(a, b)
	ga, gb := sides(d)
	if !slices.Equal(ga, a) || !slices.Equal(gb, b) {
		t.Fatal("a diff past the bound does not reproduce its texts")
	}
}

func FuzzLineDiff(f *testing.F) {
	f.Add("a\nb\nc", "a\nc\nd")
	f.Add("", "x")
	f.Add("same\n", "same\n")
	f.Fuzz(func(t *testing.T, x, y string) {
		a, b := splitLines(x), splitLines(y)
		if len(a) > 40 || len(b) > 40 {
			return
		}
		checkDiff(t, a, b)
	})
}
