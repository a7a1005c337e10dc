package consent

import "strings"

// A line diff of document versions, kept with each version so that a
// reviewer sees exactly which words changed. No maintained diff library is
// among the module's dependencies (go-cmp's diff is internal to it), so this
// is Myers' O((N+M)·D) algorithm ("An O(ND) Difference Algorithm and Its
// Variations", 1986), after trimming the common head and tail; an edit
// distance past maxEdits is shown as the middle replaced whole, which keeps
// the trace it backtracks through under a few MB.

// Edit is one line of a diff: Op is ' ' (kept), '-' (removed) or '+'
// (added).
type Edit struct {
	Op   byte
	Line string
}

const maxEdits = 1000

// LineDiff returns the shortest edit script from a to b, kept lines
// included.
func LineDiff(a, b []string) []Edit {
	var head, tail int
	for head < len(a) && head < len(b) && a[head] == b[head] {
		head++
	}
	for tail < len(a)-head && tail < len(b)-head && a[len(a)-1-tail] == b[len(b)-1-tail] {
		tail++
	}
	out := make([]Edit, 0, len(a)+len(b)-head-tail)
	for _, l := range a[:head] {
		out = append(out, Edit{' ', l})
	}
	out = append(out, myers(a[head:len(a)-tail], b[head:len(b)-tail])...)
	for _, l := range a[len(a)-tail:] {
		out = append(out, Edit{' ', l})
	}
	return out
}

func myers(a, b []string) []Edit {
	n, m := len(a), len(b)
	if n == 0 || m == 0 {
		return replaceAll(a, b)
	}
	max := n + m
	off := max + 1
	v := make([]int, 2*max+3)
	// trace[d] holds v[k] for k in [-d, d] after step d.
	var trace [][]int
	for d := 0; d <= max && d <= maxEdits; d++ {
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || (k != d && v[off+k-1] < v[off+k+1]) {
				x = v[off+k+1]
			} else {
				x = v[off+k-1] + 1
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x, y = x+1, y+1
			}
			v[off+k] = x
			if x >= n && y >= m {
				trace = append(trace, append([]int(nil), v[off-d:off+d+1]...))
				return backtrack(a, b, trace)
			}
		}
		trace = append(trace, append([]int(nil), v[off-d:off+d+1]...))
	}
	return replaceAll(a, b)
}

func backtrack(a, b []string, trace [][]int) []Edit {
	var rev []Edit
	x, y := len(a), len(b)
	for d := len(trace) - 1; d > 0; d-- {
		prev := trace[d-1] // indexed k + (d-1)
		k := x - y
		var pk int
		if k == -d || (k != d && prev[k-1+d-1] < prev[k+1+d-1]) {
			pk = k + 1
		} else {
			pk = k - 1
		}
		px := prev[pk+d-1]
		py := px - pk
		// The move of step d leaves (px, py) for mid; a snake of kept
		// lines then reaches (x, y).
		mx, my := px+1, py
		if pk == k+1 {
			mx, my = px, py+1
		}
		for x > mx && y > my {
			rev = append(rev, Edit{' ', a[x-1]})
			x, y = x-1, y-1
		}
		if pk == k+1 {
			rev = append(rev, Edit{'+', b[py]})
		} else {
			rev = append(rev, Edit{'-', a[px]})
		}
		x, y = px, py
	}
	for x > 0 && y > 0 {
		rev = append(rev, Edit{' ', a[x-1]})
		x, y = x-1, y-1
	}
	out := make([]Edit, len(rev))
	for i, e := range rev {
		out[len(rev)-1-i] = e
	}
	return out
}

func replaceAll(a, b []string) []Edit {
	out := make([]Edit, 0, len(a)+len(b))
	for _, l := range a {
		out = append(out, Edit{'-', l})
	}
	for _, l := range b {
		out = append(out, Edit{'+', l})
	}
	return out
}

// changedLines counts the removed and added lines of a diff.
func changedLines(d []Edit) int {
	n := 0
	for _, e := range d {
		if e.Op != ' ' {
			n++
		}
	}
	return n
}

// FormatDiff writes a diff one line per edit, each after its Op and a
// space, as `diff -u` shows a hunk.
func FormatDiff(d []Edit) string {
	var b strings.Builder
	for _, e := range d {
		b.WriteByte(e.Op)
		b.WriteByte(' ')
		b.WriteString(e.Line)
		b.WriteByte('\n')
	}
	return b.String()
}
