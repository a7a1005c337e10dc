package web

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/internal/sealed"
	"github.com/wardenhq/warden/mfa"
)

// TestFunnelChart: the console's privacy page draws the education funnel
// from mfa's counts (prompts reported as the platform reports them,
// enrolments through the service): by region, by variant and by week, each
// bar's length proportional to its count and titled with it; a moderator
// may not see it; a bad ?weeks= is refused naming the field.
func TestFunnelChart(t *testing.T) {
	tc := newTestConsole(t, Options{})
	dir := t.TempDir()
	box, _ := sealed.OpenBox(dir, "box.key")
	mac, _ := sealed.OpenMac(dir, "mac.key")
	now := time.Now()
	svc := mfa.New(mfa.Options{DB: tc.db, Box: box, Mac: mac, Now: func() time.Time { return now }})
	tc.MountTwoFactor(svc, false)
	tc.MountPrivacy(svc)
	ctx := context.Background()
	var evs []mfa.FunnelEvent
	add := func(stage, region, variant string, n int, at time.Time) {
		for range n {
			evs = append(evs, mfa.FunnelEvent{Stage: stage, Prompt: mfa.Prompt{Region: region, Moment: "after_login", Variant: variant}, Time: at})
		}
	}
	lastWeek := now.Add(-7 * 24 * time.Hour)
	add(mfa.StageShown, "JP", "a", 40, now)
	add(mfa.StageOpened, "JP", "a", 10, now)
	add(mfa.StageShown, "DE", "b", 20, lastWeek)
	add(mfa.StageOpened, "DE", "b", 5, lastWeek)
	if err := svc.RecordPrompts(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Begin(ctx, "u1", mfa.Prompt{Region: "JP", Moment: "after_login", Variant: "a"}); err != nil {
		t.Fatal(err)
	}
	tc.user(t, "ada", warden.RoleAdmin)
	tc.user(t, "mia", warden.RoleModerator)

	cl := tc.client(t)
	tc.signIn(t, cl, "ada")
	resp, page := tc.do(t, cl, "GET", "/privacy", nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("privacy page %d\n%s", resp.StatusCode, page)
	}
	for _, want := range []string{
		"<title>JP: 40 shown</title>", "<title>JP: 10 opened, 25% of shown</title>", "<title>JP: 1 started, 2% of shown</title>",
		"<title>DE: 20 shown</title>", "<title>DE: 5 opened, 25% of shown</title>",
		"<title>a: 40 shown</title>", "<title>b: 20 shown</title>", "<title>all: 60 shown</title>",
		"By region", "By prompt variant", "By week", `href="/privacy"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	// Two weeks of data, two week groups.
	if n := strings.Count(page, "<text x=\"0\" y=\"18\" class=\"label\">week of "); n != 1 || strings.Count(page, "class=\"label\">week of ") != 2 {
		t.Errorf("week groups: %d first, %d in all", n, strings.Count(page, "class=\"label\">week of "))
	}
	// Bar widths are proportional to the counts (the largest, 60 shown in
	// all, spans the full width).
	widths := map[string]string{}
	for _, m := range regexp.MustCompile(`<rect class="stage-(\w+)" x="[\d.]+" y="[\d.]+" width="([\d.]+)" height="[\d.]+"><title>(\w+): \d+`).FindAllStringSubmatch(page, -1) {
		widths[m[3]+"/"+m[1]] = m[2]
	}
	if widths["all/shown"] != "230" || widths["all/opened"] != "57.5" || widths["JP/shown"] != "230" || widths["DE/shown"] != "115" {
		t.Errorf("bar widths %v", widths)
	}
	if resp, _ := tc.do(t, cl, "GET", "/privacy?weeks=0", nil, nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("weeks=0: %d", resp.StatusCode)
	}
	mod := tc.client(t)
	tc.signIn(t, mod, "mia")
	if resp, _ := tc.do(t, mod, "GET", "/privacy", nil, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a moderator on the privacy page: %d", resp.StatusCode)
	}
}
