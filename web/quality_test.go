package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/quality"
)

// fixedQuality answers every query with rep, and refuses a bad one as the
// service does.
type fixedQuality struct {
	rep *quality.Report
	got url.Values
}

func (f *fixedQuality) Query(_ context.Context, q url.Values) (*quality.Report, error) {
	f.got = q
	if _, _, err := quality.ParseQuery(q, time.Now()); err != nil {
		return nil, err
	}
	return f.rep, nil
}

// TestQualityPage: the rule quality page charts each version's precision
// as a dot at its value with a whisker over its interval (a hold-out row
// under a version that has one), the hit rate with its baseline and the
// drift alert marked and listed; moderators see it, trusted flaggers do
// not; the rules page links to it; a bad since is refused naming it.
func TestQualityPage(t *testing.T) {
	tc := newTestConsole(t, Options{Rules: RuleFuncs{List: func() []RuleView { return nil }, LastError: func() error { return nil }}})
	base := 2.0
	day := func(d string, per float64, alert bool, b *float64) quality.Day {
		return quality.Day{Day: d, Events: 1000, Hits: int64(per), Per1000: per, Baseline: b, Alert: alert}
	}
	src := &fixedQuality{rep: &quality.Report{Since: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2026, 6, 4, 0, 0, 0, 0, time.UTC),
		Method: "two-proportion z-test",
		Rules: []quality.RuleQuality{{Rule: "scam_dm",
			Versions: []quality.VersionQuality{
				{Version: 1, Hits: 5, Accounts: 4, Precision: quality.Wilson(1, 3), FalsePositiveRate: quality.Wilson(2, 2), Negatives: 2,
					Groups: []quality.Group{{Mode: "enforce", Accounts: 4, Restricted: quality.Wilson(1, 4), Precision: quality.Wilson(1, 3)}}},
				{Version: 2, Hits: 5, Accounts: 5, Precision: quality.Wilson(3, 4), FalsePositiveRate: quality.Wilson(1, 2), Negatives: 2,
					Groups: []quality.Group{{Mode: "enforce", Accounts: 3, Restricted: quality.Wilson(2, 3), Precision: quality.Wilson(2, 3)},
						{Mode: "holdout", Accounts: 2, Restricted: quality.Wilson(1, 2), Precision: quality.Wilson(1, 1)}}},
			},
			Days:   []quality.Day{day("2026-06-01", 2, false, nil), day("2026-06-02", 2, false, &base), day("2026-06-03", 8, true, &base)},
			Alerts: []quality.Alert{{Rule: "scam_dm", Kind: quality.AlertHitRate, Day: "2026-06-03", Value: 8, Baseline: 2, Z: 9.1, Message: "scam_dm hit 8.00 per 1,000"}},
		}},
		Alerts: []quality.Alert{{Rule: "scam_dm", Kind: quality.AlertHitRate, Day: "2026-06-03", Value: 8, Baseline: 2, Z: 9.1, Message: "scam_dm hit 8.00 per 1,000"}},
	}}
	src.rep.Rules[0].Days[2].Z = 9.1
	tc.MountQuality(src)
	tc.user(t, "mia", warden.RoleModerator)
	tc.user(t, "tom", warden.RoleTrustedFlagger)

	cl := tc.client(t)
	tc.signIn(t, cl, "mia")
	if _, rules := tc.do(t, cl, "GET", "/rules", nil, nil); !strings.Contains(rules, `href="/rules/quality"`) {
		t.Error("the rules page does not link to the quality page")
	}
	resp, page := tc.do(t, cl, "GET", "/rules/quality?rule=scam_dm&since=2026-06-01", nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("quality page %d\n%s", resp.StatusCode, page)
	}
	if src.got.Get("rule") != "scam_dm" || src.got.Get("since") != "2026-06-01" {
		t.Errorf("asked for %v", src.got)
	}
	// 1 of 3: value 0.333 at 120 + 200·0.333 = 186.7; Wilson [0.0615, 0.7923] → 132.3 to 278.5.
	for _, want := range []string{
		`<circle class="value" cx="186.7"`, `x1="132.3" x2="278.5"`,
		"version 1: precision 33 % (95 % interval 6–79 %), 1 of 3 judged accounts violated",
		"v2 holdout: precision 100 %", `class="prec-row group mode-holdout"`,
		`<circle class="alert-mark"`, "drift alert: 2026-06-03: 8.00 hits per 1,000 events (8 of 1000), baseline 2.00, z = 9.1",
		`class="baseline"`, `<tr class="drift-alert" data-rule="scam_dm" data-kind="hit_rate">`,
		`<li data-mode="holdout"><span class="mode">holdout</span>: 2 accounts, 50 %`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("quality page lacks %q", want)
		}
	}
	if n := strings.Count(page, `class="alert-mark"`); n != 1 {
		t.Errorf("%d alert marks, want 1", n)
	}
	if resp, body := tc.do(t, cl, "GET", "/rules/quality?since=last+week", nil, nil); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "since") {
		t.Errorf("bad since: %d\n%s", resp.StatusCode, body)
	}
	tf := tc.client(t)
	tc.signIn(t, tf, "tom")
	if resp, _ := tc.do(t, tf, "GET", "/rules/quality", nil, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("trusted flagger got %d, want 403", resp.StatusCode)
	}
}
