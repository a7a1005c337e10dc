package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/consent"
	"github.com/wardenhq/warden/datarequest"
	"github.com/wardenhq/warden/incident"
	"github.com/wardenhq/warden/internal/sealed"
	"github.com/wardenhq/warden/ledger"
)

// TestLedgerPages: a moderator's read of a case page is an entry of the
// subject's access ledger (SAFETY_REVIEW, ticket = the case, the console
// user named); an admin sees an access's policy flag on the Ledgers page
// and resolves it, sees an open data request, and the transparency page
// charts the ledger.
func TestLedgerPages(t *testing.T) {
	tc, svc, app := caseConsole(t)
	ctx := context.Background()
	dir := t.TempDir()
	box, err := sealed.OpenBox(dir, "box.key")
	if err != nil {
		t.Fatal(err)
	}
	ring, err := consent.OpenKeyring(dir+"/ledger", box, 0)
	if err != nil {
		t.Fatal(err)
	}
	led := ledger.New(ledger.Options{DB: tc.db, Keys: ring})
	defer led.Close()
	reqs := datarequest.New(datarequest.Options{DB: tc.db, Sources: datarequest.StoreSources(tc.db, led)})
	tc.MountLedgers(LedgerOptions{Access: led, Requests: reqs})
	tc.user(t, "ada", warden.RoleAdmin)

	r, _, err := svc.Report(ctx, app, incident.ReportRequest{Reporter: "ann", Subject: incident.SubjectRef{Kind: "account", ID: "crook"}, Category: "scam", Description: "wants money"}, "")
	if err != nil {
		t.Fatal(err)
	}
	cl := tc.client(t)
	tc.signIn(t, cl, "mia")
	if resp, _ := tc.do(t, cl, "GET", "/cases/"+r.CaseID, nil, nil); resp.StatusCode != 200 {
		t.Fatalf("case page %d", resp.StatusCode)
	}
	v, err := led.UserView(ctx, "crook", 1)
	if err != nil || len(v.Entries) != 1 {
		t.Fatalf("crook's ledger after the case read: %+v %v", v, err)
	}
	e := v.Entries[0]
	if e.Purpose != ledger.SafetyReview || e.Ticket != r.CaseID || e.Actor.Class != ledger.ClassEmployee || e.Actor.ID != "console:mia" {
		t.Fatalf("entry %+v", e)
	}
	if resp, _ := tc.do(t, cl, "GET", "/ledgers", nil, nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a moderator reached the ledgers page: %d", resp.StatusCode)
	}

	a := ledger.Access{User: "crook", Actor: ledger.Actor{Class: ledger.ClassVendor, ID: "bpo-12"}, Purpose: ledger.ServiceOperation, DataCategories: []string{"messages"}}
	a.Validate(time.Now())
	rec, err := led.Record(ctx, a)
	if err != nil || len(rec.Flags) != 1 {
		t.Fatalf("flagged access: %+v %v", rec, err)
	}
	q, err := reqs.Create(ctx, "crook", datarequest.KindAccess)
	if err != nil {
		t.Fatal(err)
	}
	admin := tc.client(t)
	tok := tc.signIn(t, admin, "ada")
	_, body := tc.do(t, admin, "GET", "/ledgers", nil, nil)
	if !strings.Contains(body, "purpose_not_allowed") || !strings.Contains(body, "bpo-12") || !strings.Contains(body, `data-request="`+q.ID+`"`) || !strings.Contains(body, `href="/ledgers"`) {
		t.Fatalf("ledgers page:\n%s", body)
	}
	flags, _ := led.Flags(ctx, false, 10)
	resp, _ := tc.do(t, admin, "POST", "/ledgers/flags/"+flags[0].ID+"/resolve", url.Values{"csrf": {tok}, "note": {"vendor contract allows it"}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("resolve = %d", resp.StatusCode)
	}
	if open, _ := led.Flags(ctx, false, 10); len(open) != 0 {
		t.Fatalf("still open: %+v", open)
	}
	_, body = tc.do(t, admin, "GET", "/transparency", nil, nil)
	if !strings.Contains(body, "Accesses to users&#39; data, by purpose") || !strings.Contains(body, "SAFETY_REVIEW") || !strings.Contains(body, "Data requests (GDPR access and erasure)") {
		t.Fatalf("transparency page lacks the ledger charts:\n%s", body)
	}
}
