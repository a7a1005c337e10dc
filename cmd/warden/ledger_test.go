package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/ledger"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

// TestLedgerMustShow walks issue 13's "Must show" over serve's routes: an
// access without a purpose is refused and writes nothing; a support access
// with a ticket appears in the user's view; an access request's export
// holds the user's events, reports, consent receipts and ledger entries;
// after erasure the user's events and reports no longer carry their data,
// and the statement of reasons about them is kept.
func TestLedgerMustShow(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		m := newMatrixServer(t, db)
		app, admin, mod := m.key(t, warden.RoleApp), m.key(t, warden.RoleAdmin), m.key(t, warden.RoleModerator)
		ctx := context.Background()

		// Refused without a purpose, and nothing written.
		b := m.must(t, "POST", "/v1/access", app, `{"user":"alice","actor":{"class":"employee","id":"agent-7"},"data_categories":["profile"]}`, 422, nil)
		if errorCode(string(b)) != warden.EUNPROCESSABLE || !strings.Contains(string(b), `"field":"purpose"`) {
			t.Fatalf("no purpose: %s", b)
		}
		m.must(t, "POST", "/v1/access", app, `{"user":"alice","actor":{"class":"employee","id":"agent-7"},"purpose":"USER_INITIATED_SUPPORT"}`, 422, nil)
		if n, err := db.CountAccess(ctx); err != nil || n != 0 {
			t.Fatalf("refused accesses wrote %d entries (%v)", n, err)
		}

		// Alice's data: an event, a report she filed, a consent receipt.
		m.must(t, "POST", "/v1/events", app, `{"id":"ev-alice-1","type":"post","time":"2026-12-01T10:00:00Z","actor":"alice","text":"hello from alice","ip":"192.0.2.7"}`, 200, nil)
		m.must(t, "POST", "/v1/events", app, `{"id":"ev-bob-1","type":"follow","time":"2026-12-01T10:01:00Z","actor":"bob","target":"alice"}`, 200, nil)
		var rep struct {
			ID     string `json:"id"`
			CaseID string `json:"case_id"`
		}
		m.must(t, "POST", "/v1/reports", app, `{"reporter":"alice","subject":{"kind":"account","id":"mallory"},"category":"harassment","description":"mallory keeps writing to alice at alice@example.com"}`, 201, &rep)
		var doc struct{ ID string }
		m.must(t, "POST", "/v1/documents", admin, jpTermsBody("1", "You agree.\n", "18 months", "service"), 201, &doc)
		m.must(t, "POST", "/v1/users/alice/consent", app, fmt.Sprintf(`{"document_id":%q,"decision":"accept","collection_method":"signup form"}`, doc.ID), 201, nil)
		// A decision about alice, with its statement of reasons.
		var about struct {
			CaseID string `json:"case_id"`
		}
		m.must(t, "POST", "/v1/reports", app, `{"reporter":"bob","subject":{"kind":"account","id":"alice"},"category":"scam","description":"asked me for money"}`, 201, &about)
		m.must(t, "POST", "/v1/cases/"+about.CaseID+"/decision", mod, `{"action":"suspend_account","policy":"Terms §4.5 Fraud","explanation":"Asked users for money.","duration":"720h"}`, 201, nil)

		// A support access with a ticket is in alice's view.
		var rec ledger.Receipt
		m.must(t, "POST", "/v1/access", app, `{"user":"alice","actor":{"class":"employee","id":"agent-7"},"purpose":"USER_INITIATED_SUPPORT","ticket":"zendesk:4821","data_categories":["profile","messages"]}`, 201, &rec)
		if rec.ID == "" || rec.Seq != 1 || len(rec.Hash) != 64 {
			t.Fatalf("receipt %+v", rec)
		}
		var view ledger.View
		m.must(t, "GET", "/v1/users/alice/access?days=30", app, "", 200, &view)
		if len(view.Entries) != 1 || view.Entries[0].Ticket != "zendesk:4821" || view.ByPurpose[ledger.UserInitiatedSupport] != 1 ||
			!strings.Contains(view.Entries[0].Why, "support request you made") {
			t.Fatalf("alice's view: %+v", view)
		}
		m.must(t, "GET", "/v1/users/alice/access?days=0", app, "", 400, nil)

		// alice's app read her clipboard once (no manifest: undeclared).
		m.must(t, "POST", "/v1/client/permissions", app, `{"records":[{"user":"alice","app_version":"9.9.9","permission":"clipboard.read","feature":"paste_link","trigger":"user_gesture","foreground":true,"count":1,"time":"`+time.Now().UTC().Format(time.RFC3339)+`"}]}`, 200, nil)

		// An access request: not exported before it is done; then
		// everything.
		var req struct {
			ID     string    `json:"id"`
			Kind   string    `json:"kind"`
			Status string    `json:"status"`
			DueAt  time.Time `json:"due_at"`
		}
		m.must(t, "POST", "/v1/users/alice/requests", app, `{"kind":"access"}`, 201, &req)
		if req.Status != "received" || req.DueAt.Sub(time.Now().AddDate(0, 1, 0)).Abs() > time.Minute {
			t.Fatalf("request %+v", req)
		}
		m.must(t, "POST", "/v1/users/alice/requests", app, `{"kind":"forget-me"}`, 400, nil)
		m.must(t, "GET", "/v1/requests/"+req.ID+"/export", app, "", 409, nil)
		var open struct {
			Requests []struct {
				ID      string `json:"id"`
				Overdue bool   `json:"overdue"`
			} `json:"requests"`
		}
		m.must(t, "GET", "/v1/requests?status=open", admin, "", 200, &open)
		if len(open.Requests) != 1 || open.Requests[0].ID != req.ID || open.Requests[0].Overdue {
			t.Fatalf("open requests %+v", open)
		}
		m.must(t, "POST", "/v1/requests/"+req.ID+"/fulfil", admin, "", 200, nil)
		var export struct {
			User     string `json:"user"`
			Sections struct {
				Events []struct {
					Event   map[string]any `json:"event"`
					Verdict map[string]any `json:"verdict"`
				} `json:"events"`
				Reports         []map[string]any `json:"reports"`
				Notices         []map[string]any `json:"notices"`
				Decisions       []map[string]any `json:"decisions"`
				ConsentReceipts []struct {
					Receipt string `json:"receipt"`
				} `json:"consent_receipts"`
				TwoFactor    map[string]any   `json:"two_factor"`
				AccessLedger []ledger.Entry   `json:"access_ledger"`
				Permissions  []map[string]any `json:"permission_records"`
			} `json:"sections"`
		}
		m.must(t, "GET", "/v1/requests/"+req.ID+"/export", app, "", 200, &export)
		s := export.Sections
		if len(s.Events) != 1 || s.Events[0].Event["text"] != "hello from alice" || s.Events[0].Verdict["action"] == nil {
			t.Fatalf("export events: %+v", s.Events)
		}
		if len(s.Reports) != 1 || !strings.Contains(fmt.Sprint(s.Reports[0]), "mallory keeps writing") {
			t.Fatalf("export reports: %+v", s.Reports)
		}
		if len(s.ConsentReceipts) != 1 || strings.Count(s.ConsentReceipts[0].Receipt, ".") != 2 {
			t.Fatalf("export consent receipts: %+v", s.ConsentReceipts)
		}
		if len(s.AccessLedger) != 1 || s.AccessLedger[0].ID != rec.ID {
			t.Fatalf("export ledger: %+v", s.AccessLedger)
		}
		if len(s.Permissions) != 1 || s.Permissions[0]["feature"] != "paste_link" {
			t.Fatalf("export permission records: %+v", s.Permissions)
		}
		if len(s.Decisions) != 1 || s.TwoFactor == nil || len(s.Notices) == 0 {
			t.Fatalf("export decisions %d, 2fa %v, notices %d", len(s.Decisions), s.TwoFactor, len(s.Notices))
		}
		code, hdr, page := m.doRaw(t, "GET", "/v1/requests/"+req.ID+"/export?format=html", app)
		if code != 200 || !strings.HasPrefix(hdr, "text/html") || !strings.Contains(page, "hello from alice") || !strings.Contains(page, "Who inside the platform accessed your data") {
			t.Fatalf("html export: %d %s %.300s", code, hdr, page)
		}

		// Erasure, once the case alice reported is decided (a report on an
		// open case is under legal hold).
		m.must(t, "POST", "/v1/cases/"+rep.CaseID+"/decision", mod, `{"action":"no_violation","policy":"Terms §3 Harassment","explanation":"No harassment found."}`, 201, nil)
		m.must(t, "POST", "/v1/users/alice/requests", app, `{"kind":"erasure"}`, 201, &req)
		var done struct {
			Status string `json:"status"`
			Erased []struct {
				Section       string `json:"section"`
				Deleted       int64  `json:"deleted"`
				Pseudonymised int64  `json:"pseudonymised"`
				Kept          int64  `json:"kept"`
				Why           string `json:"why"`
			} `json:"erased"`
		}
		m.must(t, "POST", "/v1/requests/"+req.ID+"/fulfil", admin, "", 200, &done)
		got := map[string]string{}
		for _, e := range done.Erased {
			got[e.Section] = fmt.Sprintf("%d/%d/%d", e.Deleted, e.Pseudonymised, e.Kept)
			if e.Kept > 0 && e.Why == "" {
				t.Errorf("%s kept %d without saying why", e.Section, e.Kept)
			}
		}
		if done.Status != "done" || got["events"] != "1/1/0" || got["reports"] != "0/1/0" || got["decisions"] != "0/0/1" || got["consent_receipts"] != "1/0/0" || got["access_ledger"] != "0/1/0" || got["permission_records"] != "1/0/0" {
			t.Fatalf("erasure: %+v", done)
		}
		var n int
		db.Get(&n, "SELECT COUNT(*) FROM events WHERE actor = $1 OR target = $1 OR body LIKE $2", "alice", "%alice%")
		if n != 0 {
			t.Fatalf("%d events still carry alice", n)
		}
		db.Get(&n, "SELECT COUNT(*) FROM incident_reports WHERE reporter = $1 OR description LIKE $2", "alice", "%alice%")
		if n != 0 {
			t.Fatalf("%d reports still carry alice's data", n)
		}
		var sor string
		db.Get(&sor, "SELECT sor FROM incident_decisions WHERE case_id = $1", about.CaseID)
		if !strings.Contains(sor, "decision_ground") && len(sor) < 50 {
			t.Fatalf("the statement of reasons was not kept: %q", sor)
		}
		if strings.Contains(sor, "alice") {
			t.Fatalf("the statement of reasons names the user: %s", sor)
		}
		m.must(t, "GET", "/v1/users/alice/access", app, "", 200, &view)
		if len(view.Entries) != 0 {
			t.Fatalf("alice's ledger still names her: %+v", view)
		}
		set, _ := m.priv.ledgers.keys.JWKS()
		if r, err := ledger.Verify(ctx, db, &set, nil); err != nil || !r.OK || r.Erased != 1 {
			t.Fatalf("ledger after erasure: %+v %v", r, err)
		}
	})
}

func (m *matrixServer) doRaw(t *testing.T, method, path, key string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(method, m.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// TestLedgerVerifyCommand: `warden ledger verify` exits 0 on a clean
// ledger, and 1 naming the entry after one row is edited in the database
// (SQLite under --data, and PostgreSQL with --db when
// WARDEN_TEST_POSTGRES is set).
func TestLedgerVerifyCommand(t *testing.T) {
	bin, err := buildWarden()
	if err != nil {
		t.Fatal(err)
	}
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		dir := t.TempDir()
		args := []string{"ledger", "verify", "--data", dir}
		if db.Dialect == sqlstore.SQLite {
			// The command opens DIR/warden.db.
			db2, err := sqlstore.Open(ctx, "", dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db2.Close() })
			db = db2
		} else {
			args = append(args, "--db", sqlstoretest.URL(t, db))
		}
		led, err := openLedgers(dir, db)
		if err != nil {
			t.Fatal(err)
		}
		defer led.access.Close()
		var ids []string
		for i := range 20 {
			a := ledger.Access{User: fmt.Sprintf("user-%d", i%4), Actor: ledger.Actor{Class: ledger.ClassService, ID: "billing"}, Purpose: ledger.ServiceOperation}
			a.Validate(time.Now())
			r, err := led.access.Record(ctx, a)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, r.ID)
		}
		if _, err := led.access.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
		run := func(extra ...string) (string, int) {
			out, err := exec.Command(bin, append(args, extra...)...).CombinedOutput()
			if ee, ok := err.(*exec.ExitError); ok {
				return string(out), ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			return string(out), 0
		}
		if out, code := run(); code != 0 || !strings.Contains(out, "20 entries in 4 chains") || !strings.Contains(out, "signatures checked") {
			t.Fatalf("clean ledger: exit %d: %s", code, out)
		}
		if _, err := db.Exec("UPDATE access_ledger SET actor_id = $1 WHERE id = $2", "someone-else", ids[13]); err != nil {
			t.Fatal(err)
		}
		out, code := run()
		if code != 1 || !strings.Contains(out, ids[13]) || !strings.Contains(out, "edited") {
			t.Fatalf("edited row: exit %d: %s", code, out)
		}
		out, code = run("--json")
		var rep ledger.Report
		if code != 1 || json.Unmarshal([]byte(out[:strings.IndexByte(out, '\n')+1]), &rep) != nil || rep.OK || rep.Problem == nil || rep.Problem.EntryID != ids[13] {
			t.Fatalf("--json: exit %d: %s", code, out)
		}
	})
}

// TestCenterAccessAndRequests: the safety and privacy center shows who
// accessed the user's data and why, for 7/30/365 days, and makes and lists
// their data requests.
func TestCenterAccessAndRequests(t *testing.T) {
	c := newPrivacyClient(t, sqlstoretest.SQLite(t))
	c.call("POST", "/v1/access", c.app, `{"user":"u9","actor":{"class":"employee","id":"agent-7"},"purpose":"USER_INITIATED_SUPPORT","ticket":"zendesk:77","data_categories":["profile"]}`, 201, nil)
	old := time.Now().AddDate(0, 0, -20).UTC().Format(time.RFC3339)
	c.call("POST", "/v1/access", c.app, `{"user":"u9","actor":{"class":"legal","id":"lr-1"},"purpose":"LEGAL_REQUEST","time":"`+old+`"}`, 201, nil)
	var link struct {
		URL string `json:"url"`
	}
	c.call("POST", "/v1/users/u9/center", c.app, ``, 201, &link)
	u, _ := url.Parse(link.URL)
	page := string(c.call("GET", u.Path, "", "", 200, nil))
	if !strings.Contains(page, "Who accessed your data") || !strings.Contains(page, "An employee looked at your profile to answer a support request you made (ticket zendesk:77).") ||
		!strings.Contains(page, "The legal team looked at your data to answer a legal request.") {
		t.Fatalf("center (30 days):\n%s", page)
	}
	page = string(c.call("GET", u.Path+"?days=7", "", "", 200, nil))
	if strings.Contains(page, "legal request") || !strings.Contains(page, `<strong aria-current="true">7 days</strong>`) {
		t.Fatalf("center (7 days) shows the 20-day-old access or not the window:\n%s", page)
	}
	csrf := csrfField.FindStringSubmatch(page)
	form := url.Values{"csrf": {csrf[1]}, "kind": {"access"}}
	req, _ := http.NewRequest("POST", c.m.srv.URL+u.Path+"/requests", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", c.m.srv.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var mine struct {
		Requests []struct{ ID, Kind, Status string } `json:"requests"`
	}
	c.call("GET", "/v1/users/u9/requests", c.app, "", 200, &mine)
	if resp.StatusCode != 200 || len(mine.Requests) != 1 || mine.Requests[0].Kind != "access" || !strings.Contains(string(b), mine.Requests[0].ID) {
		t.Fatalf("request from the center: %d %+v\n%s", resp.StatusCode, mine, b)
	}
}
