package main

import (
	"fmt"
	"io"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

// TestBreakerHoldsBurst is the must-show, through the served
// stack and the built-in pack: the rule denied_domain (block) fires on 2 %
// of ten hours of posts, then on a third of the posts of five minutes. Its
// breaker trips: its hits are kept, held to review, saying the shares; the
// admin is alerted (GET /v1/rules/breakers, /metrics); an admin, and only
// an admin, re-arms it, and the rule blocks again. The re-arm is stored:
// a server started over the same store replays the log to the same state,
// re-armed.
func TestBreakerHoldsBurst(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		m := newMatrixServer(t, db)
		app, mod, admin := m.key(t, warden.RoleApp), m.key(t, warden.RoleModerator), m.key(t, warden.RoleAdmin)
		t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
		send := func(m *matrixServer, tag string, from time.Time, n, every int, gap time.Duration) []warden.Verdict {
			var b strings.Builder
			b.WriteString(`{"events":[`)
			for i := range n {
				if i > 0 {
					b.WriteByte(',')
				}
				text := fmt.Sprintf("photo %d of my %s holiday", i, tag)
				if i%every == 0 {
					text = fmt.Sprintf("free videos %d at vid-share.xyz/%s", i, tag)
				}
				fmt.Fprintf(&b, `{"id":"%s%d","type":"post","time":%q,"actor":"%s-%d","text":%q}`, tag, i, from.Add(time.Duration(i)*gap).Format(time.RFC3339), tag, i, text)
			}
			b.WriteString(`]}`)
			var out struct{ Verdicts []warden.Verdict }
			m.must(t, "POST", "/v1/events", app, b.String(), 200, &out)
			var hits []warden.Verdict
			for _, v := range out.Verdicts {
				for _, h := range v.Hits {
					if h.Rule == "denied_domain" {
						hits = append(hits, v)
					}
				}
			}
			return hits
		}
		ruleHit := func(v warden.Verdict) warden.Hit {
			for _, h := range v.Hits {
				if h.Rule == "denied_domain" {
					return h
				}
			}
			t.Fatal("no denied_domain hit")
			return warden.Hit{}
		}
		for _, v := range send(m, "n", t0, 1000, 50, 36*time.Second) {
			if v.Action != warden.ActionBlock {
				t.Fatalf("normal traffic: %+v", v)
			}
		}
		var breakers struct {
			Breakers []struct{ Rule, Reason string }
		}
		m.must(t, "GET", "/v1/rules/breakers", admin, "", 200, &breakers)
		if len(breakers.Breakers) != 0 {
			t.Fatalf("tripped by normal traffic: %+v", breakers)
		}

		burst := send(m, "b", t0.Add(10*time.Hour), 300, 3, time.Second)
		var blocked, held int
		for _, v := range burst {
			switch h := ruleHit(v); h.Action {
			case warden.ActionBlock:
				if held > 0 {
					t.Fatalf("a block after the trip: %+v", v)
				}
				blocked++
			case warden.ActionReview:
				held++
				if v.Action != warden.ActionReview || h.Mode != warden.ModeEnforce || !strings.Contains(h.Reason, "held to review by its breaker: ") ||
					!strings.Contains(h.Reason, " of events vs 2") {
					t.Fatalf("a held hit: %+v", v)
				}
			}
		}
		if blocked == 0 || held < 20 {
			t.Fatalf("burst: %d blocked, %d held", blocked, held)
		}

		// the admin's alert
		m.must(t, "GET", "/v1/rules/breakers", mod, "", 403, nil)
		m.must(t, "GET", "/v1/rules/breakers", admin, "", 200, &breakers)
		if len(breakers.Breakers) != 1 || breakers.Breakers[0].Rule != "denied_domain" || !strings.Contains(breakers.Breakers[0].Reason, "of events vs") {
			t.Fatalf("breakers = %+v", breakers)
		}
		if metrics := scrape(t, m); !strings.Contains(metrics, `warden_rule_breaker_tripped{rule="denied_domain"} 1`) {
			t.Fatal("/metrics does not show the tripped breaker")
		}

		// re-arm: admins only; a breaker not tripped or an unknown rule is refused
		m.must(t, "POST", "/v1/rules/denied_domain/breaker/rearm", mod, "", 403, nil)
		m.must(t, "POST", "/v1/rules/no_such_rule/breaker/rearm", admin, "", 404, nil)
		m.must(t, "POST", "/v1/rules/scam_pitch_new_account/breaker/rearm", admin, "", 409, nil)
		var re struct {
			Rule        string `json:"rule"`
			RearmedFrom string `json:"rearmed_from"`
		}
		m.must(t, "POST", "/v1/rules/denied_domain/breaker/rearm", admin, "", 200, &re)
		if re.Rule != "denied_domain" || re.RearmedFrom == "" {
			t.Fatalf("re-arm = %+v", re)
		}
		m.must(t, "POST", "/v1/rules/denied_domain/breaker/rearm", admin, "", 409, nil)
		for _, v := range send(m, "c", t0.Add(10*time.Hour+6*time.Minute), 150, 3, time.Second) {
			if v.Action != warden.ActionBlock {
				t.Fatalf("after the re-arm: %+v", v)
			}
		}
		m.must(t, "GET", "/v1/rules/breakers", admin, "", 200, &breakers)
		if len(breakers.Breakers) != 0 || strings.Contains(scrape(t, m), "warden_rule_breaker_tripped{") {
			t.Fatalf("still tripped after the re-arm: %+v", breakers)
		}

		// a new server over the same store replays the log with the
		// stored re-arm: the same state
		m2 := newMatrixServer(t, db)
		m2.must(t, "GET", "/v1/rules/breakers", admin, "", 200, &breakers)
		if len(breakers.Breakers) != 0 {
			t.Fatalf("after a replay: %+v", breakers)
		}
		for _, v := range send(m2, "d", t0.Add(10*time.Hour+9*time.Minute), 30, 3, time.Second) {
			if v.Action != warden.ActionBlock {
				t.Fatalf("after a replay: %+v", v)
			}
		}
	})
}

// scrape returns the served stack's /metrics.
func scrape(t *testing.T, m *matrixServer) string {
	t.Helper()
	srv := httptest.NewServer(m.api.AdminHandler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRulesCheckValves: warden rules check loads the set's ladders and
// valves as serve would, and refuses valves for a rule not in the set,
// naming the file, the entry and the field.
func TestRulesCheckValves(t *testing.T) {
	if out, code := run(t, "rules", "check", "../../rules"); code != 0 || !strings.Contains(out, "2 ladders, valves declared for 2 rules") {
		t.Fatalf("check of the built-in pack: exit %d\n%s", code, out)
	}
	bin, err := buildWarden()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ old, new, want string }{
		{"rule: denied_domain", "rule: denied_domains", `valves/valves.yaml: rules[0] (denied_domains): rule: "denied_domains" is not a rule of the rule set`},
		{"holdout: 0\n", "holdout: 0.7\n", "valves/valves.yaml: defaults: holdout: 0.7 is not a fraction"},
	} {
		dir := packCopy(t, "valves/valves.yaml", tc.old, tc.new)
		var stderr strings.Builder
		cmd := exec.Command(bin, "rules", "check", dir)
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err == nil || strings.Contains(string(out), "ok:") || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("check with %q: %v\n%s%s", tc.new, err, out, stderr.String())
		}
	}
}
