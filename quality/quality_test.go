package quality_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/incident"
	"github.com/wardenhq/warden/quality"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

var (
	app    = &warden.Principal{ID: "key-app", Role: warden.RoleApp, Kind: "api_key"}
	first  = &warden.Principal{ID: "mod-1", Role: warden.RoleModerator, Kind: "user"}
	second = &warden.Principal{ID: "mod-2", Role: warden.RoleModerator, Kind: "user"}
)

var t0 = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// hitEvent logs one event of actor at t with the given hits.
func hitEvents(t *testing.T, l *sqlstore.EventLog, recs ...sqlstore.EventRecord) {
	t.Helper()
	for i := range recs {
		recs[i].Type, recs[i].ReceivedUS = "comment", recs[i].TimeUS
		recs[i].Body, recs[i].Verdict = []byte("{}"), []byte(`{"hits":[]}`)
	}
	if _, err := l.Append(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
}

func rec(id, actor string, at time.Time, hits ...sqlstore.RuleHit) sqlstore.EventRecord {
	return sqlstore.EventRecord{ID: id, Actor: actor, TimeUS: at.UnixMicro(), Hits: hits}
}

// decide reports account and has a moderator decide its case.
func decide(t *testing.T, svc *incident.Service, account, action string) *warden.Decision {
	t.Helper()
	ctx := context.Background()
	r, _, err := svc.Report(ctx, app, incident.ReportRequest{Reporter: "reporter-" + account,
		Subject: incident.SubjectRef{Kind: warden.TargetAccount, ID: account}, Category: warden.CategoryScam, Description: "asks for money"}, "")
	if err != nil {
		t.Fatal(err)
	}
	req := incident.DecisionRequest{Action: action, Policy: "Fraud", Explanation: "Judged on the messages."}
	if action == warden.ActSuspendAccount {
		req.Duration = "720h"
	}
	d, err := svc.Decide(ctx, first, r.CaseID, req)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func reverse(t *testing.T, svc *incident.Service, account string, d *warden.Decision) {
	t.Helper()
	ctx := context.Background()
	a, _, err := svc.Appeal(ctx, incident.AppealRequest{Appellant: account, DecisionID: d.ID, Reason: "It was not me."})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.DecideAppeal(ctx, second, a.ID, incident.AppealDecisionRequest{Outcome: warden.AppealReversed, Explanation: "Another person used it."}); err != nil {
		t.Fatal(err)
	}
}

func version(t *testing.T, rep *quality.Report, rule string, v int) quality.VersionQuality {
	t.Helper()
	for _, r := range rep.Rules {
		if r.Rule != rule {
			continue
		}
		for _, vq := range r.Versions {
			if vq.Version == v {
				return vq
			}
		}
	}
	t.Fatalf("no version %d of %s in %+v", v, rule, rep.Rules)
	return quality.VersionQuality{}
}

func group(vq quality.VersionQuality, mode string) (quality.Group, bool) {
	for _, g := range vq.Groups {
		if g.Mode == mode {
			return g, true
		}
	}
	return quality.Group{}, false
}

// Version 1 of a rule hits four accounts: one is banned, one judged clean,
// one suspended and the suspension reversed on appeal, one never decided.
// Version 2 hits three: two banned, one judged clean. So version 1's
// precision is 1 of 3 and version 2's is 2 of 3; the clean account and the
// reversal are version 1's false positives.
func TestPrecisionFromDecisionsAndAppeals(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		clk := t0.Add(48 * time.Hour)
		svc, err := incident.New(ctx, incident.Options{DB: db, Now: func() time.Time { return clk }})
		if err != nil {
			t.Fatal(err)
		}
		l := sqlstore.NewEventLog(db)
		defer l.Close()
		v1 := sqlstore.RuleHit{Rule: "scam_dm", Version: 1, Mode: warden.ModeEnforce}
		v2 := sqlstore.RuleHit{Rule: "scam_dm", Version: 2, Mode: warden.ModeEnforce}
		hold := sqlstore.RuleHit{Rule: "scam_dm", Version: 2, Mode: quality.ModeHoldout}
		hitEvents(t, l,
			rec("e1", "a1", t0, v1), rec("e2", "a1", t0.Add(time.Minute), v1), rec("e3", "a2", t0, v1),
			rec("e4", "a3", t0, v1), rec("e5", "a4", t0, v1),
			rec("e6", "b1", t0.Add(24*time.Hour), v2), rec("e7", "b2", t0.Add(24*time.Hour), v2), rec("e8", "b3", t0.Add(24*time.Hour), v2),
			rec("e9", "h1", t0.Add(24*time.Hour), hold), rec("e10", "h2", t0.Add(24*time.Hour), hold),
			rec("e11", "clean", t0.Add(24*time.Hour)), rec("e12", "quiet", t0.Add(-30*24*time.Hour)))
		decide(t, svc, "a1", warden.ActBanAccount)
		decide(t, svc, "a2", warden.ActNoViolation)
		reverse(t, svc, "a3", decide(t, svc, "a3", warden.ActSuspendAccount))
		decide(t, svc, "b1", warden.ActBanAccount)
		decide(t, svc, "b2", warden.ActSuspendAccount)
		decide(t, svc, "b3", warden.ActNoViolation)
		decide(t, svc, "h1", warden.ActBanAccount)
		decide(t, svc, "clean", warden.ActNoViolation)
		decide(t, svc, "quiet", warden.ActNoViolation)

		q := quality.New(quality.Options{Store: db, Now: func() time.Time { return clk }})
		rep, err := q.Report(ctx, "", t0.Add(-24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		one, two := version(t, rep, "scam_dm", 1), version(t, rep, "scam_dm", 2)
		if one.TruePositives != 1 || one.FalsePositives != 2 || one.Accounts != 4 || one.Hits != 5 {
			t.Errorf("version 1 = %+v, want 1 true and 2 false positives of 4 accounts, 5 hits", one)
		}
		if math.Abs(one.Precision.Value-1.0/3) > 1e-9 || one.Precision.N != 3 {
			t.Errorf("version 1 precision = %+v, want 1/3", one.Precision)
		}
		// Over every mode, h1 (hold-out, banned) is a true positive too.
		if two.TruePositives != 3 || two.FalsePositives != 1 {
			t.Errorf("version 2 = %+v, want 3 true and 1 false positive", two)
		}
		// Enforce-mode figures: b1, b2 restricted, b3 clean.
		if g, _ := group(two, warden.ModeEnforce); g.TruePositives != 2 || g.FalsePositives != 1 || math.Abs(g.Precision.Value-2.0/3) > 1e-9 {
			t.Errorf("version 2 enforce group = %+v, want precision 2/3", g)
		}
		// Wilson 95 % for 1 of 3: [0.0615, 0.7923].
		if math.Abs(one.Precision.Low-0.0615) > 1e-3 || math.Abs(one.Precision.High-0.7923) > 1e-3 {
			t.Errorf("version 1 interval = [%.4f, %.4f], want [0.0615, 0.7923]", one.Precision.Low, one.Precision.High)
		}
		// Negatives: a2, a3 (hit), clean (active while version 1 fired,
		// no: its events came a day after version 1's last hit), quiet
		// (active a month before): version 1 has 2 of 2.
		if one.Negatives != 2 || one.FalsePositiveRate.Value != 1 {
			t.Errorf("version 1 false-positive rate = %+v of %d negatives, want 2 of 2", one.FalsePositiveRate, one.Negatives)
		}
		// Version 2 fired on the day "clean" was active: b3 and clean.
		if two.Negatives != 2 || two.FalsePositives != 1 {
			t.Errorf("version 2 = %d false positives of %d negatives, want 1 of 2", two.FalsePositives, two.Negatives)
		}
		// The hold-out: h1 of h1, h2 restricted later by a moderator.
		g, ok := group(two, quality.ModeHoldout)
		if !ok || g.Accounts != 2 || g.Restricted.K != 1 || g.Restricted.N != 2 {
			t.Errorf("hold-out group = %+v (present %v), want 1 of 2 accounts restricted", g, ok)
		}
		if e, _ := group(two, warden.ModeEnforce); e.Restricted.K != 2 || e.Restricted.N != 3 {
			t.Errorf("acted-on group restricted = %+v, want 2 of 3", e.Restricted)
		}
		// Only one rule asked for: the same figures.
		only, err := q.Report(ctx, "scam_dm", t0.Add(-24*time.Hour))
		if err != nil || len(only.Rules) != 1 || version(t, only, "scam_dm", 2).Precision != two.Precision {
			t.Errorf("report of one rule = %+v, %v", only, err)
		}
	})
}

func TestReportRefusesBadWindows(t *testing.T) {
	db := sqlstoretest.SQLite(t)
	q := quality.New(quality.Options{Store: db, Now: func() time.Time { return t0 }})
	for _, since := range []time.Time{t0.Add(time.Hour), t0.Add(-400 * 24 * time.Hour)} {
		_, err := q.Report(context.Background(), "", since)
		if e, ok := err.(*warden.Error); !ok || e.Field != "since" || e.Code != warden.EINVALID {
			t.Errorf("since %v: err = %v, want an invalid since", since, err)
		}
	}
	// A store with no hits: an empty report, no alerts, not an error.
	rep, err := q.Report(context.Background(), "", t0.Add(-24*time.Hour))
	if err != nil || len(rep.Rules) != 0 || len(rep.Alerts) != 0 {
		t.Fatalf("empty store: %+v, %v", rep, err)
	}
}

func TestWilson(t *testing.T) {
	for _, tt := range []struct {
		k, n      int
		low, high float64
	}{
		{0, 10, 0, 0.2775},
		{10, 10, 0.7225, 1},
		{5, 10, 0.2366, 0.7634},
		{81, 263, 0.2553, 0.3662},
	} {
		iv := quality.Wilson(tt.k, tt.n)
		if math.Abs(iv.Low-tt.low) > 1e-4 || math.Abs(iv.High-tt.high) > 1e-4 {
			t.Errorf("Wilson(%d, %d) = [%.4f, %.4f], want [%.4f, %.4f]", tt.k, tt.n, iv.Low, iv.High, tt.low, tt.high)
		}
	}
	if iv := quality.Wilson(0, 0); iv.Known {
		t.Errorf("Wilson(0, 0) = %+v, want unknown", iv)
	}
}

// Through the store: ten days of 500 events, a rule hitting 5 a day and 30
// on the last; the report's days count them from the log, and the last day
// is a hit-rate alert.
func TestHitRateAlertFromTheLog(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		l := sqlstore.NewEventLog(db)
		defer l.Close()
		start := t0.Truncate(24 * time.Hour)
		hit := sqlstore.RuleHit{Rule: "follow_burst", Version: 1, Mode: warden.ModeEnforce}
		for d := range 10 {
			var recs []sqlstore.EventRecord
			hits := 5
			if d == 9 {
				hits = 30
			}
			for i := range 500 {
				r := rec(fmt.Sprintf("d%d-%d", d, i), fmt.Sprintf("u%d", i), start.Add(time.Duration(d)*24*time.Hour+time.Duration(i)*time.Second))
				if i < hits {
					r.Hits = []sqlstore.RuleHit{hit}
				}
				recs = append(recs, r)
			}
			hitEvents(t, l, recs...)
		}
		now := start.Add(9*24*time.Hour + 12*time.Hour)
		rep, err := quality.New(quality.Options{Store: db, Now: func() time.Time { return now }}).Report(context.Background(), "", start)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Rules) != 1 || len(rep.Rules[0].Days) != 10 {
			t.Fatalf("rules = %+v", rep.Rules)
		}
		days := rep.Rules[0].Days
		if days[0].Events != 500 || days[0].Hits != 5 || days[0].Per1000 != 10 || days[9].Hits != 30 {
			t.Errorf("days = %+v", days)
		}
		if len(rep.Alerts) != 1 || rep.Alerts[0].Day != days[9].Day || !days[9].Alert {
			t.Errorf("alerts = %+v, want one on %s", rep.Alerts, days[9].Day)
		}
	})
}
