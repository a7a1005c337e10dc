package main

import (
	"strings"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/quality"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

// TestRuleQualityAPI: through the served stack, the spam rule's hits on a
// link flooder are counted per version and day; its automated suspension,
// appealed and upheld by a moderator, makes it a true positive of the version; a bad since
// is refused naming it, and the app's key may not read the figures.
func TestRuleQualityAPI(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		m := newMatrixServer(t, db)
		app, mod := m.key(t, warden.RoleApp), m.key(t, warden.RoleModerator)
		t0 := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)
		floodLinks(t, m, app, "flooder", t0)
		// The ladder's automated suspension, appealed and upheld.
		var a struct {
			ID string `json:"id"`
		}
		m.must(t, "POST", "/v1/appeals", app, `{"appellant":"flooder","decision_id":"`+waitRestricted(t, m, mod, "flooder")+`","reason":"I only share deals."}`, 201, &a)
		m.must(t, "POST", "/v1/appeals/"+a.ID+"/decision", mod, `{"outcome":"upheld","explanation":"Nine links in forty minutes from a new account."}`, 200, nil)

		var rep quality.Report
		m.must(t, "GET", "/v1/rules/quality?rule=link_flood_new_account&since="+t0.Add(-time.Hour).Format(time.RFC3339), mod, "", 200, &rep)
		if len(rep.Rules) != 1 || len(rep.Rules[0].Versions) != 1 {
			t.Fatalf("report = %+v, want one rule with one version", rep)
		}
		v := rep.Rules[0].Versions[0]
		if v.Accounts != 1 || v.Hits < 4 || v.TruePositives != 1 || v.Precision.K != 1 || v.Precision.N != 1 || len(v.Groups) != 1 || v.Groups[0].Mode != warden.ModeEnforce {
			t.Errorf("version = %+v, want the flooder as its one true positive", v)
		}
		var events int64
		for _, d := range rep.Rules[0].Days {
			events += d.Events
		}
		if events < 9 {
			t.Errorf("days = %+v, want the 9 events counted", rep.Rules[0].Days)
		}
		body := m.must(t, "GET", "/v1/rules/quality?since=yesterday", mod, "", 400, nil)
		if !strings.Contains(string(body), `"field":"since"`) {
			t.Errorf("bad since: %s", body)
		}
		m.must(t, "GET", "/v1/rules/quality", app, "", 403, nil)
	})
}
