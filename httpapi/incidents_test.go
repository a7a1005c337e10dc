package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/httpapi"
	"github.com/wardenhq/warden/incident"
	"github.com/wardenhq/warden/incident/incidenttest"
	"github.com/wardenhq/warden/ingest"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

// incidentFixture is a server with the incident routes and one key per
// role, plus a second moderator.
type incidentFixture struct {
	*fixture
	mod2 string
}

func newIncidentFixture(t *testing.T, db *sqlstore.DB) *incidentFixture {
	t.Helper()
	f := &fixture{db: db, engine: &countingEngine{}, keys: map[string]string{}}
	f.log = sqlstore.NewEventLog(db)
	t.Cleanup(f.log.Close)
	in, err := ingest.New(context.Background(), ingest.Options{Log: f.log, Engine: f.engine})
	if err != nil {
		t.Fatal(err)
	}
	api := httpapi.New(httpapi.Options{DB: db, Ingest: in})
	svc, err := incident.New(context.Background(), incident.Options{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	httpapi.RegisterIncidents(api, svc)
	f.srv = httptest.NewServer(api.Handler())
	t.Cleanup(f.srv.Close)
	for _, role := range append(warden.Roles, "mod2") {
		r := role
		if r == "mod2" {
			r = warden.RoleModerator
		}
		secret, _, err := db.CreateKey(context.Background(), r, role)
		if err != nil {
			t.Fatal(err)
		}
		f.keys[role] = secret
	}
	return &incidentFixture{fixture: f, mod2: f.keys["mod2"]}
}

// call does a request and decodes a JSON answer into out (when non-nil),
// failing unless the status is want.
func (f *incidentFixture) call(t *testing.T, method, path, key, body string, want int, out any) {
	t.Helper()
	code, b := f.do(t, method, path, key, body)
	if code != want {
		t.Fatalf("%s %s = %d %s, want %d", method, path, code, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
}

func reportBody(reporter, subject, category string) string {
	return fmt.Sprintf(`{"reporter":%q,"subject":{"kind":"account","id":%q},"category":%q,"description":"asked me for money","evidence":["msg-1"]}`, reporter, subject, category)
}

type notificationsBody struct {
	Notifications []warden.Notification `json:"notifications"`
}

func TestIncidentLoopOverHTTP(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := newIncidentFixture(t, db)
		app, tf, mod, admin := f.keys[warden.RoleApp], f.keys[warden.RoleTrustedFlagger], f.keys[warden.RoleModerator], f.keys[warden.RoleAdmin]
		now := time.Now().UTC()
		var evs []string
		for i, target := range []string{"v1", "v2"} {
			evs = append(evs, fmt.Sprintf(`{"id":"m%d","type":"message","time":%q,"actor":"scam1","target":%q,"target_kind":"account","text":"send money"}`,
				i, now.Add(-time.Duration(48-i)*time.Hour).Format(time.RFC3339), target))
		}
		f.call(t, "POST", "/v1/events", app, `{"events":[`+strings.Join(evs, ",")+`]}`, 200, nil)
		f.call(t, "POST", "/v1/reports", app, reportBody("zed", "rude1", "harassment"), 201, nil)

		type created struct{ ID, CaseID, Status string }
		var reports []created
		for _, u := range []string{"alice", "bob", "carol"} {
			var c struct {
				ID     string `json:"id"`
				CaseID string `json:"case_id"`
				Status string `json:"status"`
			}
			f.call(t, "POST", "/v1/reports", app, reportBody(u, "scam1", "scam"), 201, &c)
			reports = append(reports, created{c.ID, c.CaseID, c.Status})
		}
		var c struct {
			ID     string `json:"id"`
			CaseID string `json:"case_id"`
		}
		f.call(t, "POST", "/v1/reports", tf, reportBody("safety-ngo", "scam1", "scam"), 201, &c)
		reports = append(reports, created{c.ID, c.CaseID, "received"})
		// The trusted flagger follows its own report, and only its own.
		var view0 struct{ ID, Status string }
		f.call(t, "GET", "/v1/reports/"+c.ID, tf, "", 200, &view0)
		if view0.ID != c.ID || view0.Status != "received" {
			t.Fatalf("the flagger's view of its report: %+v", view0)
		}
		f.call(t, "GET", "/v1/reports/"+reports[0].ID, tf, "", 404, nil)
		caseID := reports[0].CaseID
		for _, r := range reports {
			if r.CaseID != caseID {
				t.Fatalf("reports went to several cases: %+v", reports)
			}
		}

		var list struct {
			Cases []struct {
				ID    string `json:"id"`
				Queue string `json:"queue"`
			} `json:"cases"`
		}
		f.call(t, "GET", "/v1/cases", mod, "", 200, &list)
		if len(list.Cases) != 2 || list.Cases[0].ID != caseID || list.Cases[0].Queue != "trusted_flagger" {
			t.Fatalf("queue = %+v, want %s first in the trusted_flagger lane", list.Cases, caseID)
		}
		var view struct {
			Reports []struct{ Source string } `json:"reports"`
		}
		f.call(t, "GET", "/v1/cases/"+caseID, mod, "", 200, &view)
		if len(view.Reports) != 4 || view.Reports[0].Source != "trusted_flagger" {
			t.Fatalf("case reports = %+v", view.Reports)
		}

		f.call(t, "POST", "/v1/cases/next", mod, "", 200, nil)
		f.call(t, "POST", "/v1/cases/"+caseID+"/decision", f.mod2, `{"action":"ban_account","policy":"Terms §4.5 Fraud","explanation":"Asked users for money."}`, 409, nil)
		var dec struct {
			ID string `json:"id"`
		}
		f.call(t, "POST", "/v1/cases/"+caseID+"/decision", mod,
			`{"action":"ban_account","policy":"Terms of Service §4.5 Fraud and scams","explanation":"The account asked users for money transfers.","note":"internal only: ring 42"}`, 201, &dec)

		for _, r := range reports {
			var v incident.ReportView
			f.call(t, "GET", "/v1/reports/"+r.ID, app, "", 200, &v)
			if v.Status != "decided" || len(v.Timeline) != 3 || v.Timeline[2].Status != "decided" {
				t.Fatalf("report %s view = %+v", r.ID, v)
			}
		}
		var owner notificationsBody
		f.call(t, "GET", "/v1/users/scam1/notifications", app, "", 200, &owner)
		if len(owner.Notifications) != 1 || owner.Notifications[0].Kind != "statement_of_reasons" || strings.Contains(string(owner.Notifications[0].Data), "ring 42") {
			t.Fatalf("owner's inbox = %+v", owner)
		}
		for _, u := range []string{"v1", "v2"} {
			var in notificationsBody
			f.call(t, "GET", "/v1/users/"+u+"/notifications", app, "", 200, &in)
			if len(in.Notifications) != 1 || in.Notifications[0].Kind != "exposure" {
				t.Fatalf("%s's inbox = %+v", u, in)
			}
		}
		var appeal struct{ ID, Status string }
		f.call(t, "POST", "/v1/appeals", app, fmt.Sprintf(`{"appellant":"scam1","decision_id":%q,"reason":"mistake"}`, dec.ID), 201, &appeal)
		if appeal.Status != "pending" {
			t.Fatalf("appeal = %+v", appeal)
		}

		code, body := f.do(t, "GET", "/v1/transparency/statements", admin, "")
		lines := bytes.Split(bytes.TrimSpace(body), []byte("\n"))
		if code != 200 || len(lines) != 1 {
			t.Fatalf("statements = %d %s", code, body)
		}
		for _, l := range lines {
			incidenttest.Check(t, l)
		}
		var rep incident.Report
		f.call(t, "GET", "/v1/transparency/report", admin, "", 200, &rep)
		if rep.Notices.Total != 5 || rep.Notices.BySource["trusted_flagger"] != 1 || rep.TimeToAction.All.N != 4 || rep.Appeals.Pending != 1 {
			t.Fatalf("transparency report = %+v", rep)
		}
	})
}

func TestIncidentAPIErrors(t *testing.T) {
	db := sqlstoretest.SQLite(t)
	f := newIncidentFixture(t, db)
	app, mod := f.keys[warden.RoleApp], f.keys[warden.RoleModerator]
	tests := []struct {
		name, method, path, key, body string
		status                        int
		code, field                   string
	}{
		{"unknown category", "POST", "/v1/reports", app, reportBody("u1", "s1", "spam"), 400, "invalid", "category"},
		{"unknown field", "POST", "/v1/reports", app, `{"reporter":"u1","subject":{"kind":"account","id":"s"},"category":"scam","colour":"red"}`, 400, "invalid", "colour"},
		{"bad subject kind", "POST", "/v1/reports", app, `{"reporter":"u1","subject":{"kind":"user","id":"s"},"category":"scam"}`, 400, "invalid", "subject.kind"},
		{"self report", "POST", "/v1/reports", app, reportBody("u1", "u1", "scam"), 400, "invalid", "subject.id"},
		{"moderators do not file reports", "POST", "/v1/reports", mod, reportBody("u1", "s1", "scam"), 403, "forbidden", ""},
		{"no key", "GET", "/v1/cases", "", "", 401, "unauthorized", ""},
		{"apps do not see cases", "GET", "/v1/cases", app, "", 403, "forbidden", ""},
		{"bad due_within", "GET", "/v1/cases?due_within=soon", mod, "", 400, "invalid", "due_within"},
		{"unknown case", "GET", "/v1/cases/C-NOPE", mod, "", 404, "not_found", ""},
		{"claim unknown case", "POST", "/v1/cases/C-NOPE/claim", mod, "", 404, "not_found", ""},
		{"release unknown case", "POST", "/v1/cases/999999/release", mod, "", 404, "not_found", ""},
		{"unknown report", "GET", "/v1/reports/R-NOPE", app, "", 404, "not_found", ""},
		{"suspension without duration", "POST", "/v1/cases/C-NOPE/decision", mod, `{"action":"suspend_account","policy":"p","explanation":"e"}`, 400, "invalid", "duration"},
		{"unknown action", "POST", "/v1/cases/C-NOPE/decision", mod, `{"action":"nuke","policy":"p","explanation":"e"}`, 400, "invalid", "action"},
		{"appeal needs a target", "POST", "/v1/appeals", app, `{"appellant":"u1","reason":"r"}`, 400, "invalid", "decision_id"},
		{"appeal of unknown decision", "POST", "/v1/appeals", app, `{"appellant":"u1","decision_id":"D-X","reason":"r"}`, 404, "not_found", ""},
		{"bad appeal outcome", "POST", "/v1/appeals/A-X/decision", mod, `{"outcome":"maybe","explanation":"e"}`, 400, "invalid", "outcome"},
		{"statements are admin only", "GET", "/v1/transparency/statements", mod, "", 403, "forbidden", ""},
		{"bad period", "GET", "/v1/transparency/report?from=yesterday", f.keys[warden.RoleAdmin], "", 400, "invalid", "from"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := f.do(t, tc.method, tc.path, tc.key, tc.body)
			var e apiError
			json.Unmarshal(body, &e)
			if code != tc.status || e.Error.Code != tc.code || e.Error.Field != tc.field {
				t.Fatalf("= %d %s, want %d %s field %q", code, body, tc.status, tc.code, tc.field)
			}
		})
	}
	var spec struct {
		Paths map[string]map[string]struct {
			Roles []string `json:"x-roles"`
		} `json:"paths"`
	}
	f.call(t, "GET", "/openapi.json", "", "", 200, &spec)
	for path, method := range map[string]string{"/v1/reports": "post", "/v1/reports/{id}": "get", "/v1/cases": "get", "/v1/cases/{id}/decision": "post",
		"/v1/users/{id}/notifications": "get", "/v1/appeals": "post", "/v1/appeals/{id}/decision": "post", "/v1/transparency/statements": "get", "/v1/transparency/report": "get"} {
		if len(spec.Paths[path][method].Roles) == 0 {
			t.Errorf("OpenAPI lacks %s %s", method, path)
		}
	}
	var n int
	if err := db.Reader.Get(&n, "SELECT COUNT(*) FROM incident_reports"); err != nil || n != 0 {
		t.Fatalf("failed requests stored %d reports (%v)", n, err)
	}
}

func TestReportIdempotencyAndRateLimit(t *testing.T) {
	db := sqlstoretest.SQLite(t)
	f := newIncidentFixture(t, db)
	app := f.keys[warden.RoleApp]
	var first, again struct {
		ID string `json:"id"`
	}
	body := `{"id":"client-7","reporter":"u1","subject":{"kind":"account","id":"s1"},"category":"scam"}`
	f.call(t, "POST", "/v1/reports", app, body, 201, &first)
	f.call(t, "POST", "/v1/reports", app, body, 201, &again)
	if first.ID != again.ID {
		t.Fatalf("a resent id made a second report: %s, %s", first.ID, again.ID)
	}
	f.call(t, "POST", "/v1/reports", app, `{"id":"client-7","reporter":"u1","subject":{"kind":"account","id":"s2"},"category":"scam"}`, 400, nil)
	// The burst is 10 per reporter; the first report above used one.
	for i := range 9 {
		f.call(t, "POST", "/v1/reports", app, reportBody("u2", fmt.Sprintf("target%d", i), "scam"), 201, nil)
	}
	f.call(t, "POST", "/v1/reports", app, reportBody("u2", "target-x", "scam"), 201, nil)
	f.call(t, "POST", "/v1/reports", app, reportBody("u2", "target-y", "scam"), 429, nil)
	// Another reporter is not affected.
	f.call(t, "POST", "/v1/reports", app, reportBody("u3", "target-y", "scam"), 201, nil)
}
