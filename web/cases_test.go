package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/incident"
	"github.com/wardenhq/warden/notify"
)

// TestCasePages walks a moderator through the console: the queue, taking
// the next case, deciding it from the form, and an admin reversing it on
// appeal and reading the transparency charts.
func TestCasePages(t *testing.T) {
	tc, svc, app := caseConsole(t)
	ctx := context.Background()
	tc.user(t, "ada", warden.RoleAdmin)
	tf := &warden.Principal{ID: "tf", Role: warden.RoleTrustedFlagger, Kind: "key"}
	var caseID string
	for i, p := range []*warden.Principal{app, tf} {
		r, _, err := svc.Report(ctx, p, incident.ReportRequest{Reporter: []string{"ann", "ngo"}[i], Subject: incident.SubjectRef{Kind: "account", ID: "crook"}, Category: "scam", Description: "wants money"}, "")
		if err != nil {
			t.Fatal(err)
		}
		caseID = r.CaseID
	}

	cl := tc.client(t)
	tok := tc.signIn(t, cl, "mia")
	resp, body := tc.do(t, cl, "GET", "/cases", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `data-case-id="`+caseID+`"`) || !strings.Contains(body, "trusted flagger") {
		t.Fatalf("queue page %d:\n%s", resp.StatusCode, body)
	}
	resp, _ = tc.do(t, cl, "POST", "/cases/next", url.Values{"csrf": {tok}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/cases/"+caseID {
		t.Fatalf("take next = %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body = tc.do(t, cl, "GET", "/cases/"+caseID, nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `id="decision-form"`) || !strings.Contains(body, `data-key="b"`) || !strings.Contains(body, "cases.js") {
		t.Fatalf("case page %d:\n%s", resp.StatusCode, body)
	}
	form := url.Values{"csrf": {tok}, "action": {"ban_account"}, "policy": {"Terms §4.5"}, "explanation": {"Write to crook@example.com"}, "duration": {""}}
	resp, body = tc.do(t, cl, "POST", "/cases/"+caseID+"/decision", form, nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "personal data") {
		t.Fatalf("decision with an address = %d %s", resp.StatusCode, body)
	}
	form.Set("explanation", "Asked users for money transfers.")
	form.Set("note", "second ring this week")
	resp, _ = tc.do(t, cl, "POST", "/cases/"+caseID+"/decision", form, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("decision = %d", resp.StatusCode)
	}
	_, body = tc.do(t, cl, "GET", resp.Header.Get("Location"), nil, nil)
	if !strings.Contains(body, `<span class="actor actor-console_user" title="user:`) || !strings.Contains(body, `">mia</span></li>`) {
		t.Fatalf("the audit log does not name mia:\n%s", body)
	}
	if !strings.Contains(body, `role="status"`) || !strings.Contains(body, "second ring this week") {
		t.Fatalf("decided case page lacks the status line or the internal note:\n%s", body)
	}
	if resp, _ := tc.do(t, cl, "GET", "/transparency", nil, nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a moderator reached the transparency page: %d", resp.StatusCode)
	}

	v, _ := svc.Case(ctx, caseID)
	a, _, err := svc.Appeal(ctx, incident.AppealRequest{Appellant: "crook", DecisionID: v.Decision.ID, Reason: "I was hacked"})
	if err != nil {
		t.Fatal(err)
	}
	admin := tc.client(t)
	atok := tc.signIn(t, admin, "ada")
	_, body = tc.do(t, admin, "GET", "/appeals", nil, nil)
	if !strings.Contains(body, "I was hacked") {
		t.Fatalf("appeals page:\n%s", body)
	}
	resp, _ = tc.do(t, admin, "POST", "/appeals/"+a.ID+"/decision", url.Values{"csrf": {atok}, "outcome": {"reversed"}, "explanation": {"Account recovered."}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("appeal decision = %d", resp.StatusCode)
	}
	if svc.Labels().Has("crook", "banned") {
		t.Fatal("the reversal left the ban")
	}
	resp, body = tc.do(t, admin, "GET", "/transparency", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `<dd id="t-notices">2</dd>`) || !strings.Contains(body, "<rect") {
		t.Fatalf("transparency page %d:\n%s", resp.StatusCode, body)
	}
}

func TestDeadLetterPage(t *testing.T) {
	tc := newTestConsole(t, Options{})
	ctx := context.Background()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) }))
	defer down.Close()
	now := time.Now()
	clock := func() time.Time { return now }
	outbox := notify.New(notify.Options{Outbox: tc.db, Now: clock, Webhook: &notify.Webhook{URL: down.URL, Secret: "s", Now: clock}})
	svc, err := incident.New(ctx, incident.Options{DB: tc.db, Now: clock, Outbound: outbox})
	if err != nil {
		t.Fatal(err)
	}
	tc.MountCases(svc)
	tc.user(t, "ada", warden.RoleAdmin)
	app := &warden.Principal{ID: "k", Role: warden.RoleApp, Kind: "key"}
	if _, _, err := svc.Report(ctx, app, incident.ReportRequest{Reporter: "ann", Subject: incident.SubjectRef{Kind: "account", ID: "x"}, Category: "scam"}, ""); err != nil {
		t.Fatal(err)
	}
	for range notify.MaxAttempts {
		if _, err := outbox.DeliverDue(ctx); err != nil {
			t.Fatal(err)
		}
		now = now.Add(2 * time.Hour)
	}
	cl := tc.client(t)
	tok := tc.signIn(t, cl, "ada")
	_, body := tc.do(t, cl, "GET", "/deliveries", nil, nil)
	m := regexp.MustCompile(`data-delivery="(\d+)"`).FindStringSubmatch(body)
	if m == nil || !strings.Contains(body, "503") {
		t.Fatalf("dead-letter page:\n%s", body)
	}
	resp, _ := tc.do(t, cl, "POST", "/deliveries/"+m[1]+"/retry", url.Values{"csrf": {tok}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("retry = %d", resp.StatusCode)
	}
	if _, body = tc.do(t, cl, "GET", "/deliveries", nil, nil); !strings.Contains(body, "No delivery has been given up on.") {
		t.Fatalf("after retry:\n%s", body)
	}
}

// TestQueuePage: counts per queue and status, filters, a search by subject,
// the closed history and paging through the queue with next links.
func TestQueuePage(t *testing.T) {
	tc, svc, app := caseConsole(t)
	ctx := context.Background()
	var cases []string
	for i := 0; i < 5; i++ {
		cat := []string{"scam", "harassment"}[i%2]
		r, _, err := svc.Report(ctx, app, incident.ReportRequest{Reporter: "ann", Subject: incident.SubjectRef{Kind: "account", ID: "acct" + string(rune('a'+i))}, Category: cat}, "")
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, r.CaseID)
	}
	mia := &warden.Principal{ID: "mia-id", Role: warden.RoleModerator, Kind: "user"}
	if _, err := svc.Decide(ctx, mia, cases[4], incident.DecisionRequest{Action: warden.ActBanAccount, Policy: "Terms §4.5", Explanation: "Asked for money."}); err != nil {
		t.Fatal(err)
	}
	cl := tc.client(t)
	tok := tc.signIn(t, cl, "mia")
	rows := regexp.MustCompile(`data-case-id="([^"]+)"`)
	seen := map[string]bool{}
	next := "/cases?limit=2"
	for pages := 0; next != ""; pages++ {
		resp, body := tc.do(t, cl, "GET", next, nil, nil)
		if resp.StatusCode != 200 || pages > 3 {
			t.Fatalf("%s = %d after %d pages:\n%s", next, resp.StatusCode, pages, body)
		}
		for _, m := range rows.FindAllStringSubmatch(body, -1) {
			if seen[m[1]] {
				t.Fatalf("case %s on two pages", m[1])
			}
			seen[m[1]] = true
		}
		next = ""
		if m := regexp.MustCompile(`<a href="([^"]+)" rel="next">`).FindStringSubmatch(body); m != nil {
			next = strings.ReplaceAll(m[1], "&amp;", "&")
		}
		if pages == 0 && (!strings.Contains(body, `Waiting <span class="count">4</span>`) || !strings.Contains(body, `Closed in 30 days <span class="count">1</span>`)) {
			t.Fatalf("the status tabs lack their counts:\n%s", body)
		}
	}
	if len(seen) != 4 || seen[cases[4]] {
		t.Fatalf("pages showed %v, want the 4 waiting cases", seen)
	}
	_, body := tc.do(t, cl, "GET", "/cases?status=closed", nil, nil)
	if got := rows.FindAllStringSubmatch(body, -1); len(got) != 1 || got[0][1] != cases[4] {
		t.Fatalf("closed cases = %v", got)
	}
	_, body = tc.do(t, cl, "GET", "/cases?subject=acctb", nil, nil)
	if got := rows.FindAllStringSubmatch(body, -1); len(got) != 1 || got[0][1] != cases[1] {
		t.Fatalf("search acctb = %v", got)
	}
	_, body = tc.do(t, cl, "GET", "/cases?category=harassment", nil, nil)
	if got := rows.FindAllStringSubmatch(body, -1); len(got) != 2 {
		t.Fatalf("harassment = %v", got)
	}
	_, body = tc.do(t, cl, "GET", "/cases?assignee=me", nil, nil)
	if got := rows.FindAllStringSubmatch(body, -1); len(got) != 0 || !strings.Contains(body, "No case matches") {
		t.Fatalf("mine before claiming = %v", got)
	}
	tc.do(t, cl, "POST", "/cases/next", url.Values{"csrf": {tok}}, nil)
	_, body = tc.do(t, cl, "GET", "/cases?assignee=me", nil, nil)
	if got := rows.FindAllStringSubmatch(body, -1); len(got) != 1 {
		t.Fatalf("mine after taking one = %v", got)
	}
	_, body = tc.do(t, cl, "GET", "/cases?assignee=none", nil, nil)
	if got := rows.FindAllStringSubmatch(body, -1); len(got) != 3 {
		t.Fatalf("nobody's = %v", got)
	}
	if resp, _ := tc.do(t, cl, "GET", "/cases?status=done", nil, nil); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status=done = %d", resp.StatusCode)
	}
}

// caseConsole is a console with the case pages, a moderator "mia" and an app
// key's principal to file reports with.
func caseConsole(t *testing.T) (*testConsole, *incident.Service, *warden.Principal) {
	tc := newTestConsole(t, Options{})
	svc, err := incident.New(context.Background(), incident.Options{DB: tc.db})
	if err != nil {
		t.Fatal(err)
	}
	tc.MountCases(svc)
	tc.user(t, "mia", warden.RoleModerator)
	return tc, svc, &warden.Principal{ID: "k", Role: warden.RoleApp, Kind: "key"}
}
