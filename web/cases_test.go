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
	tc := newTestConsole(t, Options{})
	ctx := context.Background()
	svc, err := incident.New(ctx, incident.Options{DB: tc.db})
	if err != nil {
		t.Fatal(err)
	}
	tc.MountCases(svc)
	tc.user(t, "mia", warden.RoleModerator)
	tc.user(t, "ada", warden.RoleAdmin)
	app := &warden.Principal{ID: "k", Role: warden.RoleApp, Kind: "key"}
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
