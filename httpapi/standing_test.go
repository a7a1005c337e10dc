package httpapi_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/engine"
	"github.com/wardenhq/warden/httpapi"
	"github.com/wardenhq/warden/incident"
	"github.com/wardenhq/warden/ingest"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

// A ban bites: after a moderator bans an account, its next event is
// blocked with a hit naming the decision; once the ban is reversed on
// appeal, the account's events go through again.
func TestBannedAccountsNextEventIsBlocked(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		svc, err := incident.New(ctx, incident.Options{DB: db})
		if err != nil {
			t.Fatal(err)
		}
		eng, err := engine.Open(engine.Options{Labels: svc.Labels(), Standing: svc.Labels()})
		if err != nil {
			t.Fatal(err)
		}
		log := sqlstore.NewEventLog(db)
		t.Cleanup(log.Close)
		in, err := ingest.New(ctx, ingest.Options{Log: log, Engine: eng})
		if err != nil {
			t.Fatal(err)
		}
		api := httpapi.New(httpapi.Options{DB: db, Ingest: in})
		httpapi.RegisterIncidents(api, svc)
		srv := httptest.NewServer(api.Handler())
		t.Cleanup(srv.Close)
		f := &incidentFixture{fixture: &fixture{srv: srv, db: db, log: log, keys: map[string]string{}}}
		for _, role := range []string{warden.RoleApp, warden.RoleModerator, warden.RoleTrustedFlagger, "mod2"} {
			r := role
			if r == "mod2" {
				r = warden.RoleModerator
			}
			secret, _, err := db.CreateKey(ctx, r, role)
			if err != nil {
				t.Fatal(err)
			}
			f.keys[role] = secret
		}
		app, mod := f.keys[warden.RoleApp], f.keys[warden.RoleModerator]
		message := func(id string) warden.Verdict {
			var v verdicts
			f.call(t, "POST", "/v1/events", app, fmt.Sprintf(`{"id":%q,"type":"message","time":"2026-12-05T10:00:00Z","actor":"s3","target":"u9","text":"hello"}`, id), 200, &v)
			return v.Verdicts[0]
		}
		f.call(t, "GET", "/v1/accounts/s3/standing", f.keys[warden.RoleTrustedFlagger], "", 403, nil)
		if v := message("m1"); v.Action != warden.ActionAllow {
			t.Fatalf("before any decision: %+v", v)
		}
		var rep struct {
			CaseID string `json:"case_id"`
		}
		f.call(t, "POST", "/v1/reports", app, reportBody("u1", "s3", "scam"), 201, &rep)
		var dec struct{ ID string }
		f.call(t, "POST", "/v1/cases/"+rep.CaseID+"/decision", mod, `{"action":"ban_account","policy":"Terms §4.5 Fraud","explanation":"Asked users for money."}`, 201, &dec)
		v := message("m2")
		if v.Action != warden.ActionBlock || len(v.Hits) == 0 || v.Hits[0].Rule != "account_restricted" || v.Hits[0].Mode != warden.ModeEnforce ||
			!strings.Contains(v.Hits[0].Reason, dec.ID) || !strings.Contains(v.Hits[0].Reason, "banned") {
			t.Fatalf("the banned account's next event: %+v (decision %s)", v, dec.ID)
		}
		var st incident.Standing
		f.call(t, "GET", "/v1/accounts/s3/standing", app, "", 200, &st)
		if st.Account != "s3" || st.Restriction == nil || st.Restriction.Action != warden.ActBanAccount || st.Restriction.Until != nil ||
			st.Restriction.DecisionID != dec.ID || len(st.Strikes) != 1 || len(st.History) != 1 || st.History[0].By != "moderator" || st.History[0].StatementID != dec.ID {
			t.Fatalf("standing of the banned account: %+v", st)
		}
		var appeal struct{ ID string }
		f.call(t, "POST", "/v1/appeals", app, fmt.Sprintf(`{"appellant":"s3","decision_id":%q,"reason":"I was hacked"}`, dec.ID), 201, &appeal)
		f.call(t, "POST", "/v1/appeals/"+appeal.ID+"/decision", f.keys["mod2"], `{"outcome":"reversed","explanation":"The account was taken over."}`, 200, nil)
		if v := message("m3"); v.Action != warden.ActionAllow {
			t.Fatalf("after the ban was reversed: %+v", v)
		}
		st = incident.Standing{}
		f.call(t, "GET", "/v1/accounts/s3/standing", mod, "", 200, &st)
		if st.Restriction != nil || len(st.Strikes) != 0 || len(st.History) != 1 || st.History[0].ReversedAt == 0 {
			t.Fatalf("standing after the reversal: %+v", st)
		}
	})
}
