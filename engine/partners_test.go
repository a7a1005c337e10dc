package engine

import (
	"context"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/wardenhq/warden"
)

// fakePartners lists clear values per kind, each by partners with a trust.
type fakePartners map[string]map[string]int // kind|value → partner → trust

func (f fakePartners) Lookup(kind, value string, min int) (string, int) {
	best, bt := "", TrustNone
	for p, t := range f[kind+"|"+value] {
		if t >= min && (t > bt || t == bt && p < best) {
			best, bt = p, t
		}
	}
	return best, bt
}

func compilePartners(t *testing.T, ps Partners, text string) *RuleSet {
	t.Helper()
	rs, err := Compile(fstest.MapFS{"r.yaml": {Data: []byte(text)}}, CompileOptions{Partners: ps})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func partnerEvent(email, flag string) *warden.Event {
	return &warden.Event{ID: "e1", Type: "signup", Actor: "a1", Time: t0, Text: "hello there",
		Attrs: map[string]any{"email": email, "flag": flag}}
}

// TestPartnerListedAndTrust checks the partner functions on both
// evaluation paths (closures, and the expression machine for a condition
// the closure compiler leaves to it): the hit names the partner, a block
// relying only on low or medium-trust listings is held to review, and a
// high-trust listing or other evidence lets it stand.
func TestPartnerListedAndTrust(t *testing.T) {
	ps := fakePartners{
		"email|low@x.example":  {"smallco": TrustLow},
		"email|high@x.example": {"smallco": TrustLow, "bigco": TrustHigh},
		"email|mid@x.example":  {"midco": TrustMedium},
	}
	for _, cond := range []string{
		`partner_listed("email", attrs.email) || attrs.flag == "1"`,
		// len() is not closure-compiled: the whole condition runs on the
		// expression machine.
		`(partner_listed("email", attrs.email) || attrs.flag == "1") && len(text) > 0`,
	} {
		rs := compilePartners(t, ps, `
rules:
  - name: partner_block
    when: '`+cond+`'
    action: block
    reason: 'listed with trust {{partner_trust("email", attrs.email)}}'
`)
		if fast := rs.rules[0].prog.ok; fast != !strings.Contains(cond, "len(") {
			t.Fatalf("%s: closure-compiled = %v", cond, fast)
		}
		tests := []struct {
			email, flag string
			action      warden.Action
			partners    []string
			reason      string
		}{
			{"low@x.example", "0", warden.ActionReview, []string{"smallco"}, "listed with trust low"},
			{"mid@x.example", "0", warden.ActionReview, []string{"midco"}, "listed with trust medium"},
			{"high@x.example", "0", warden.ActionBlock, []string{"bigco"}, "listed with trust high"},
			{"low@x.example", "1", warden.ActionBlock, []string{"smallco"}, "listed with trust low"},
			{"nobody@x.example", "1", warden.ActionBlock, nil, "listed with trust "},
		}
		for _, tc := range tests {
			res := rs.evaluate(context.Background(), partnerEvent(tc.email, tc.flag), newStore(), nil, 0, false, hooks{})
			if len(res.Verdict.Hits) != 1 {
				t.Fatalf("%s %s: hits %+v", cond, tc.email, res.Verdict.Hits)
			}
			h := res.Verdict.Hits[0]
			if res.Verdict.Action != tc.action || h.Action != tc.action || !slices.Equal(h.Partners, tc.partners) || h.Reason != tc.reason {
				t.Errorf("%s, %s flag %s: action %v (hit %v), partners %v, reason %q; want %v, %v, %q",
					cond, tc.email, tc.flag, res.Verdict.Action, h.Action, h.Partners, h.Reason, tc.action, tc.partners, tc.reason)
			}
			if res.Verdict.Score < 0.89 {
				t.Errorf("%s: score %v: a partner hit still raises the score", tc.email, res.Verdict.Score)
			}
		}
		res := rs.evaluate(context.Background(), partnerEvent("nobody@x.example", "0"), newStore(), nil, 0, false, hooks{})
		if len(res.Verdict.Hits) != 0 {
			t.Errorf("unlisted: %+v", res.Verdict.Hits)
		}
	}
}

func TestPartnerCallsOnlyInRules(t *testing.T) {
	_, err := compileText(t, map[string]string{"r.yaml": `
features:
  - {name: listed, expr: 'partner_listed("email", attrs.email)'}
rules:
  - {name: r, when: listed, action: block}
`})
	if err == nil || !strings.Contains(err.Error(), "partner lists may be read only in a rule's when") {
		t.Fatalf("err = %v", err)
	}
	// Without partners nothing is listed.
	rs := compilePartners(t, nil, `
rules:
  - {name: r, when: 'partner_listed("email", attrs.email)', action: block}
`)
	if res := rs.evaluate(context.Background(), partnerEvent("low@x.example", ""), newStore(), nil, 0, false, hooks{}); len(res.Verdict.Hits) != 0 {
		t.Fatalf("hits without partners: %+v", res.Verdict.Hits)
	}
}
