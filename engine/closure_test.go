package engine

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/wardenhq/warden/engine/state"
	"github.com/wardenhq/warden/rules"
)

// TestClosuresAgreeWithVM evaluates every expression of the built-in pack
// both ways, on the reference workload, and requires the same answers.
func TestClosuresAgreeWithVM(t *testing.T) {
	rs, err := Compile(rules.FS, CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st := state.New()
	x := new(evaluator)
	fast := 0
	for _, ev := range synthEvents(30000) {
		p := rs.plans[ev.Type]
		if p == nil {
			p = rs.def
		}
		x.reset(rs)
		x.env.fill(&ev, p.needs)
		check := func(what string, pr *program) any {
			v, err := x.run(pr)
			if err != nil {
				t.Fatalf("%s on %+v: %v", what, ev, err)
			}
			if !pr.ok {
				return v
			}
			fast++
			var got any
			switch pr.fast.k {
			case kindNum:
				got = pr.fast.n(&x.env)
				v = toFloat(v)
			case kindBool:
				got = pr.fast.b(&x.env)
			case kindStr:
				got = pr.fast.s(&x.env)
			}
			if got != v && !(isNaN(got) && isNaN(v)) {
				t.Fatalf("%s: closure says %v, the VM %v, on %+v", what, got, v, ev)
			}
			return v
		}
		for _, nd := range p.nodes {
			if nd.ctr != nil {
				if nd.ctr.where != nil {
					check(nd.name+" where", nd.ctr.where)
				}
				x.env.N[nd.idx] = x.counter(nd.ctr, &ev, st, true)
				continue
			}
			v := check(nd.name, nd.prog)
			switch nd.kind {
			case kindNum:
				x.env.N[nd.idx] = toFloat(v)
			case kindBool:
				x.env.B[nd.idx] = v.(bool)
			case kindStr:
				x.env.S[nd.idx] = v.(string)
			}
		}
		for _, r := range p.rules {
			check(r.name, r.prog)
		}
	}
	if fast == 0 {
		t.Fatal("no expression ran as closures")
	}
	_ = context.Background
}

func isNaN(v any) bool { f, ok := v.(float64); return ok && math.IsNaN(f) }

func TestListMatch(t *testing.T) {
	l := &list{lower: []string{"python-requests", "curl/", "héllo", "x"}}
	tests := []struct {
		s    string
		want bool
	}{
		{"Python-Requests/2.32", true},
		{"something curl/8.7.1", true},
		{"CURL", false},
		{"say HÉLLO there", true},
		{"Mozilla/5.0 (X11)", true},
		{"Mozilla/5.0 (Mac)", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := l.match(tt.s); got != tt.want {
			t.Errorf("match(%q) = %v, want %v", tt.s, got, tt.want)
		}
	}
}

func TestParseUTCMatchesTimeParse(t *testing.T) {
	for _, s := range []string{"2026-01-05T12:00:00Z", "1999-12-31T23:59:59Z", "2024-02-29T00:00:00Z",
		"2023-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-01-05T24:00:00Z", "2026-01-05 12:00:00Z",
		"2026-01-05T12:00:00+02:00", "2026-01-05T12:00:0xZ", ""} {
		want, err := time.Parse(time.RFC3339, s)
		got, ok := parseUTC(s)
		if ok && (err != nil || !got.Equal(want)) {
			t.Errorf("parseUTC(%q) = %v; time.Parse says %v, %v", s, got, want, err)
		}
		if !ok && err == nil && len(s) == 20 && s[19] == 'Z' {
			t.Errorf("parseUTC(%q) refused what time.Parse accepts", s)
		}
	}
}

func TestTextHashIgnoresCaseSpacingAndPunctuation(t *testing.T) {
	same := []string{"Check THIS out!! https://example.net/x", "check this out https://example.net/x 🔥", "  CHECK this... out https://Example.net/X"}
	for _, s := range same[1:] {
		if textHash(s) != textHash(same[0]) {
			t.Errorf("%q and %q hash differently", s, same[0])
		}
	}
	if textHash("Élan vital") != textHash("élan VITAL") {
		t.Error("non-ASCII letters are not case-folded")
	}
	if textHash("check this out") == textHash("check that out") {
		t.Error("different words hash the same")
	}
}
