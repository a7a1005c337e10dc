package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

// TestSpamLadderSuspends is the must-show, through the served
// stack and the built-in pack: an account that floods links (the spam rule
// link_flood_new_account) four times, each more than the cooldown apart,
// climbs warn → challenge → rate_limit → a 24 h suspension; the suspension
// is an automated decision with its statement of reasons, the account's
// standing shows the strikes and the measure, and its next event is
// blocked by it.
func TestSpamLadderSuspends(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		m := newMatrixServer(t, db)
		app, mod, admin := m.key(t, warden.RoleApp), m.key(t, warden.RoleModerator), m.key(t, warden.RoleAdmin)
		t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
		// CONTRACT §10's shape for an account with nothing on record:
		// empty lists, no restriction (not null lists).
		if code, body := m.do(t, "GET", "/v1/accounts/nobody-yet/standing", mod, ""); code != 200 ||
			string(body) != `{"account":"nobody-yet","strikes":[],"restriction":null,"history":[]}`+"\n" {
			t.Fatalf("a clean account's standing = %d %s", code, body)
		}
		postAt, due := floodLinks(t, m, app, "flooder", t0)

		var st struct {
			Strikes []struct {
				Policy string  `json:"policy"`
				Rule   *string `json:"rule"`
			} `json:"strikes"`
			Restriction *struct {
				Action string `json:"action"`
				Until  string `json:"until"`
			} `json:"restriction"`
			History []struct {
				Action      string `json:"action"`
				By          string `json:"by"`
				StatementID string `json:"statement_id"`
			} `json:"history"`
		}
		for deadline := time.Now().Add(10 * time.Second); ; {
			m.must(t, "GET", "/v1/accounts/flooder/standing", mod, "", 200, &st)
			if st.Restriction != nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond) // the bridge files the restriction after the commit
		}
		if st.Restriction == nil || st.Restriction.Action != warden.ActSuspendAccount || st.Restriction.Until == "" {
			t.Fatalf("standing = %+v, want a suspension in force", st)
		}
		ladder := 0
		for _, s := range st.Strikes {
			if s.Policy == "spam" && s.Rule != nil && *s.Rule == "link_flood_new_account" {
				ladder++
			}
		}
		if ladder != 4 || len(st.History) != 1 || st.History[0].By != "rule" || st.History[0].StatementID == "" {
			t.Fatalf("standing = %+v, want 4 ladder strikes and one automated suspension with a statement", st)
		}
		code, body := m.do(t, "GET", "/v1/transparency/statements", admin, "")
		if code != 200 || !strings.Contains(string(body), st.History[0].StatementID) || !strings.Contains(string(body), `"automated_decision":"AUTOMATED_DECISION_FULLY"`) {
			t.Fatalf("statements = %d %s", code, body)
		}
		if strings.Contains(string(body), "flooder") {
			t.Fatal("the statement of reasons names the account")
		}
		// the suspension bites on the next event
		v := postAt(due.Add(time.Minute))
		if v.Action != warden.ActionBlock || v.Hits[0].Rule != "account_restricted" {
			t.Fatalf("the suspended account's next verdict = %+v", v)
		}
	})
}

// floodLinks has actor, an account a day old, post links at t0 and then
// eight times more, so that the built-in spam rule's four strikes (each
// more than the ladder's cooldown apart) climb warn, challenge, rate_limit
// and a suspension. The suspension is jittered (the pack's valves): the
// fourth strike's verdict says it is pending, the standing's history shows
// it with pending_until within 30 minutes, and floodLinks posts once more
// at that time, when it takes effect. It fails t unless all that happens,
// and returns how to post one more at a time and when the suspension began.
func floodLinks(t *testing.T, m *matrixServer, app, actor string, t0 time.Time) (postAt func(at time.Time) warden.Verdict, suspended time.Time) {
	t.Helper()
	created := t0.Add(-24 * time.Hour).Format(time.RFC3339)
	n := 0
	postAt = func(at time.Time) warden.Verdict {
		n++
		body := fmt.Sprintf(`{"id":"%s-lf%d","type":"post","time":%q,"actor":%q,"text":"great deal https://deals.example/%d","attrs":{"account_created":%q}}`,
			actor, n, at.Format(time.RFC3339), actor, n, created)
		var out struct{ Verdicts []warden.Verdict }
		m.must(t, "POST", "/v1/events", app, body, 200, &out)
		return out.Verdicts[0]
	}
	var steps []string
	var last warden.Verdict
	for _, at := range []time.Duration{0, time.Minute, 2 * time.Minute, 3 * time.Minute, 4 * time.Minute, 5 * time.Minute,
		16 * time.Minute, 27 * time.Minute, 38 * time.Minute} {
		last = postAt(t0.Add(at))
		for _, h := range last.Hits {
			if h.Escalation != nil {
				steps = append(steps, h.Escalation.Step)
			}
		}
	}
	if strings.Join(steps, ",") != "warn,challenge,rate_limit" {
		t.Fatalf("ladder steps = %v, want warn, challenge, rate_limit and the suspension pending", steps)
	}
	if h := last.Hits[len(last.Hits)-1]; h.Rule != "ladder:spam" || !strings.Contains(h.Reason, "suspend 24h0m0s; pending: takes effect on the account's next event after") {
		t.Fatalf("the fourth strike's verdict = %+v", last)
	}
	var pend struct {
		History []struct {
			Action       string `json:"action"`
			By           string `json:"by"`
			PendingUntil string `json:"pending_until"`
		} `json:"history"`
	}
	m.must(t, "GET", "/v1/accounts/"+actor+"/standing", m.key(t, warden.RoleModerator), "", 200, &pend)
	if len(pend.History) != 1 || pend.History[0].Action != warden.ActSuspendAccount || pend.History[0].By != "rule" || pend.History[0].PendingUntil == "" {
		t.Fatalf("the standing's history = %+v, want the suspension pending", pend.History)
	}
	due, err := time.Parse(time.RFC3339, pend.History[0].PendingUntil)
	if err != nil || due.Before(t0.Add(38*time.Minute)) || due.After(t0.Add(68*time.Minute)) {
		t.Fatalf("pending until %q, want within 30 minutes of the strike", pend.History[0].PendingUntil)
	}
	// A view at that time (no rule hits it): the pending suspension comes
	// into force, and no fifth strike climbs past it on the same event.
	var out struct{ Verdicts []warden.Verdict }
	m.must(t, "POST", "/v1/events", app, fmt.Sprintf(`{"id":"%s-due","type":"view","time":%q,"actor":%q,"target":"v1","target_kind":"content","attrs":{"account_created":%q}}`,
		actor, due.Format(time.RFC3339), actor, created), 200, &out)
	v := out.Verdicts[0]
	if v.Action != warden.ActionBlock || v.Hits[len(v.Hits)-1].Escalation == nil || v.Hits[len(v.Hits)-1].Escalation.Step != "suspend" {
		t.Fatalf("the first event after the delay = %+v", v)
	}
	return postAt, due
}
