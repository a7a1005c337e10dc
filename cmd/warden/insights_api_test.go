package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/insights"
	"github.com/wardenhq/warden/internal/demo"
	"github.com/wardenhq/warden/partner"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
	"github.com/wardenhq/warden/survey"
)

type trustReply struct {
	Wave         string `json:"wave"`
	PreviousWave string `json:"previous_wave"`
	Waves        []string
	Regions      []struct {
		Region string
		insights.TrustIndex
		Change *struct {
			From string `json:"from_wave"`
			Top2 insights.Change
		}
		Drivers *struct {
			LMGRela map[string]float64 `json:"lmg_rela"`
			Johnson map[string]float64
		}
		DriversError string `json:"drivers_error"`
		Linked       int
		ByExperience map[string]map[string]insights.TrustIndex `json:"by_experience"`
	}
	Trend []survey.TrendPoint
}

// TestInsightsTrustDemo: the demo's survey, served: a scammer messages
// some respondents, some report it, it is banned (through the event log
// and a real decision); two waves in seven regions are stored. The trust
// call shows JP lowest and ID highest, privacy as the top driver, the
// change from the first wave, and lower trust for respondents exposed to
// the banned account (found by their hashed platform id), whose reports
// were actioned.
func TestInsightsTrustDemo(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		m := newServed(t, db, partner.Config{GroupKey: groupKey, SigningKey: signingKey('s'), Issuer: "s.example", K: 3})
		app, admin := m.key(t, warden.RoleApp), m.key(t, warden.RoleAdmin)
		if code, _ := m.do(t, "GET", "/v1/insights/trust", admin, ""); code != 404 {
			t.Fatalf("no waves: %d, want 404", code)
		}
		svc := m.loadDemoSurvey(t, app)
		start := time.Now()
		var rep trustReply
		m.must(t, "GET", "/v1/insights/trust", admin, "", 200, &rep)
		t.Logf("trust call: %v", time.Since(start))
		if rep.Wave != demo.SurveyWaves[1] || rep.PreviousWave != demo.SurveyWaves[0] || len(rep.Regions) != 7 || len(rep.Trend) != 14 {
			t.Fatalf("wave %q prev %q, %d regions, %d trend points", rep.Wave, rep.PreviousWave, len(rep.Regions), len(rep.Trend))
		}
		top := map[string]float64{}
		var exposedLower, withOutcome int
		for _, r := range rep.Regions {
			top[r.Region] = r.Mean.Value
			if r.N != 120 || r.Linked != 96 || r.Deff <= 1 || r.TopBox.Low >= r.TopBox.Value || r.Change == nil || r.Change.From != demo.SurveyWaves[0] {
				t.Errorf("%s: %+v", r.Region, r)
			}
			if r.Drivers == nil {
				t.Fatalf("%s: no drivers: %s", r.Region, r.DriversError)
			}
			best := ""
			for k, v := range r.Drivers.LMGRela {
				if best == "" || v > r.Drivers.LMGRela[best] {
					best = k
				}
			}
			if best != "privacy" {
				t.Errorf("%s: top driver %s (%v)", r.Region, best, r.Drivers.LMGRela)
			}
			ex := r.ByExperience[survey.GroupExposed]
			if ex["yes"].N != 24 || ex["no"].N != 72 {
				t.Errorf("%s: exposed %d, not exposed %d; want 24 and 72", r.Region, ex["yes"].N, ex["no"].N)
			}
			if ex["yes"].Mean.Value < ex["no"].Mean.Value {
				exposedLower++
			}
			if o := r.ByExperience[survey.GroupReportResult]; o["actioned"].N == 2 {
				withOutcome++
			}
			if len(r.ByExperience["twofa"]) != 2 || len(r.ByExperience["safety_center"]) != 2 {
				t.Errorf("%s: splits %v", r.Region, r.ByExperience)
			}
		}
		for reg := range top {
			if reg != "JP" && top[reg] <= top["JP"] || reg != "ID" && top[reg] >= top["ID"] {
				t.Errorf("mean trust by region %v: want JP lowest and ID highest", top)
				break
			}
		}
		if exposedLower != 7 || withOutcome != 7 {
			t.Errorf("exposed lower in %d of 7 regions; 2 actioned reporters in %d of 7", exposedLower, withOutcome)
		}
		var one trustReply
		m.must(t, "GET", "/v1/insights/trust?wave="+demo.SurveyWaves[0]+"&region=JP", admin, "", 200, &one)
		if len(one.Regions) != 1 || one.Regions[0].Region != "JP" || one.Regions[0].Change != nil || one.PreviousWave != "" || len(one.Trend) != 2 {
			t.Errorf("one region of the first wave: %+v", one)
		}
		var uk trustReply
		m.must(t, "GET", "/v1/insights/trust?region=UK", admin, "", 200, &uk)
		if len(uk.Regions) != 1 || uk.Regions[0].Region != "GB" {
			t.Errorf("region=UK: %+v, want the GB figures", uk.Regions)
		}
		for q, want := range map[string]int{"?wave=nope": 404, "?region=XX": 400, "?region=jp": 400, "?wave=a%20b": 400, "?region=BR": 400} {
			code, body := m.do(t, "GET", "/v1/insights/trust"+q, admin, "")
			if code != want || !strings.Contains(string(body), `"error"`) {
				t.Errorf("%s: %d %s, want %d", q, code, body, want)
			}
		}
		if code, _ := m.do(t, "GET", "/v1/insights/trust", app, ""); code != 403 {
			t.Errorf("app key: %d, want 403", code)
		}
		// A second start finds the waves and adds nothing.
		if err := demo.Survey(ctx, demo.SurveyOptions{DB: db, Service: svc, Salt: testSurveySalt}); err != nil {
			t.Fatal(err)
		}
		if ws, _ := db.Waves(ctx); len(ws) != 2 {
			t.Errorf("%d waves after a second start", len(ws))
		}
	})
}
