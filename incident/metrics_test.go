package incident

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

// gathered returns the value of metric name with label value lv.
func gathered(t *testing.T, reg *prometheus.Registry, name, lv string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() != lv {
				continue
			}
			if m.Counter != nil {
				return m.Counter.GetValue()
			}
			return m.Gauge.GetValue()
		}
	}
	return -1
}

func TestOperationsMetrics(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		clk := newClock()
		reg := prometheus.NewRegistry()
		s := newTestService(t, db, clk, func(o *Options) { o.Registerer = reg })
		r := mustReport(t, s, app, report("u1", warden.TargetAccount, "s1", warden.CategoryScam))
		if got := gathered(t, reg, "warden_cases_open", "scams"); got != 1 {
			t.Fatalf("open scams cases = %v", got)
		}
		if got := gathered(t, reg, "warden_cases_overdue", "scams"); got != 0 {
			t.Fatalf("overdue = %v before the SLA", got)
		}
		clk.Advance(5 * time.Hour) // past the scams queue's 4 h
		if got := gathered(t, reg, "warden_cases_overdue", "scams"); got != 1 {
			t.Fatalf("overdue = %v after the SLA", got)
		}
		if _, err := s.Decide(ctx, moderator, r.CaseID, DecisionRequest{Action: warden.ActBanAccount, Policy: "Fraud", Explanation: "Payment scams."}); err != nil {
			t.Fatal(err)
		}
		clk.Advance(metricsTTL)
		for name, want := range map[string]float64{"warden_cases_opened_total": 1, "warden_cases_closed_total": 1, "warden_cases_open": 0,
			"warden_cases_overdue": 0, "warden_cases_sla_breached_total": 1} {
			if got := gathered(t, reg, name, "scams"); got != want {
				t.Errorf("%s{queue=scams} = %v, want %v", name, got, want)
			}
		}
		if got := gathered(t, reg, "warden_notices_total", warden.NoticeReceipt); got != 1 {
			t.Errorf("receipts = %v", got)
		}
	})
}

// A rule's precision as people measure it: of the cases its detections
// opened, how many ended in a restriction that stood.
func TestRuleOutcomes(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		s := newTestService(t, db, newClock(), nil)
		decide := func(account, action string) *warden.Decision {
			c, _, err := s.Detect(ctx, Detection{Subject: SubjectRef{Kind: warden.TargetAccount, ID: account}, Category: warden.CategoryScam,
				Confidence: 0.5, Rule: "scam_pitch", Reason: "a scam pitch"})
			if err != nil {
				t.Fatal(err)
			}
			d, err := s.Decide(ctx, moderator, c.ID, DecisionRequest{Action: action, Policy: "Fraud", Explanation: "Reviewed."})
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
		decide("a1", warden.ActBanAccount)
		decide("a2", warden.ActNoViolation)
		d := decide("a3", warden.ActBanAccount)
		a, _, err := s.Appeal(ctx, AppealRequest{Appellant: "a3", DecisionID: d.ID, Reason: "Not a scam."})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.DecideAppeal(ctx, second, a.ID, AppealDecisionRequest{Outcome: warden.AppealReversed, Explanation: "It was a real offer."}); err != nil {
			t.Fatal(err)
		}
		os, err := db.RuleOutcomes(ctx)
		if err != nil || len(os) != 1 || os[0] != (sqlstore.RuleOutcome{Rule: "scam_pitch", Decided: 3, Restricted: 2, Reversed: 1}) {
			t.Fatalf("outcomes %+v, %v", os, err)
		}
	})
}
