package incident

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

func TestSummarizeHours(t *testing.T) {
	tests := []struct {
		in   []float64
		want Hours
	}{
		{nil, Hours{}},
		{[]float64{4}, Hours{N: 1, Median: 4, P90: 4}},
		{[]float64{5, 0.5, 3, 2}, Hours{N: 4, Median: 2.5, P90: 5}},
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, Hours{N: 10, Median: 5.5, P90: 9}},
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, Hours{N: 11, Median: 6, P90: 10}},
	}
	for _, tc := range tests {
		if got := summarizeHours(tc.in); got != tc.want {
			t.Errorf("summarizeHours(%v) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

// TestTransparencyReportMatchesHandCount builds a small period whose figures
// are counted by hand in the comments.
func TestTransparencyReportMatchesHandCount(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		clk := newClock()
		start := clk.Now()
		s := newTestService(t, db, clk, nil)
		ctx := context.Background()
		at := func(h float64) { clk.Advance(start.Add(time.Duration(h * float64(time.Hour))).Sub(clk.Now())) }
		decide := func(caseID, action, dur string) *warden.Decision {
			t.Helper()
			d, err := s.Decide(ctx, moderator, caseID, DecisionRequest{Action: action, Policy: "Terms", Explanation: "Broke the rules.", Duration: dur})
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
		a1 := mustReport(t, s, app, report("u1", warden.TargetAccount, "A", warden.CategoryScam)) // t=0
		b := mustReport(t, s, app, report("u3", warden.TargetAccount, "B", warden.CategoryFakeProfile))
		c := mustReport(t, s, flagger, report("ngo", warden.TargetAccount, "C", warden.CategoryHarassment))
		mustReport(t, s, app, report("u6", warden.TargetAccount, "E", warden.CategoryOther)) // never decided
		at(0.5)
		dc := decide(c.CaseID, warden.ActRestrict, "") // C: 0.5 h (trusted flagger)
		at(1)
		mustReport(t, s, app, report("u2", warden.TargetAccount, "A", warden.CategoryScam)) // t=1
		d := mustReport(t, s, app, report("u5", warden.TargetAccount, "D", warden.CategoryOther))
		at(2)
		decide(d.CaseID, warden.ActNoViolation, "") // D: no action, left out of time to action
		at(3)
		da := decide(a1.CaseID, warden.ActBanAccount, "") // A: 3 h and 2 h
		at(5)
		db5 := decide(b.CaseID, warden.ActSuspendAccount, "720h") // B: 5 h
		s.Detect(ctx, Detection{Subject: SubjectRef{Kind: warden.TargetAccount, ID: "F"}, Category: warden.CategoryFakeProfile,
			Confidence: 1, Reason: "Lockstep ring.", Action: warden.ActBanAccount}) // automated, not a notice

		at(6)
		ap1, _, _ := s.Appeal(ctx, AppealRequest{Appellant: "A", DecisionID: da.ID, Reason: "x"})
		ap2, _, _ := s.Appeal(ctx, AppealRequest{Appellant: "B", DecisionID: db5.ID, Reason: "x"})
		s.Appeal(ctx, AppealRequest{Appellant: "u5", ReportID: d.ID, Reason: "x"}) // pending
		at(8)
		if _, err := s.DecideAppeal(ctx, second, ap1.ID, AppealDecisionRequest{Outcome: warden.AppealReversed, Explanation: "ok"}); err != nil { // 2 h
			t.Fatal(err)
		}
		at(10)
		if _, err := s.DecideAppeal(ctx, second, ap2.ID, AppealDecisionRequest{Outcome: warden.AppealUpheld, Explanation: "no"}); err != nil { // 4 h
			t.Fatal(err)
		}
		_ = dc

		rep, err := s.TransparencyReport(ctx, start.Add(-time.Hour), start.Add(24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		// Notices: A×2, B, C, D, E = 6; the detection on F is not a notice.
		if rep.Notices.Total != 6 || rep.Notices.BySource[warden.SourceTrustedFlagger] != 1 || rep.Notices.BySource[warden.SourceUser] != 5 ||
			rep.Notices.ByCategory[warden.CategoryScam] != 2 || rep.Notices.ByCategory[warden.CategoryOther] != 2 {
			t.Fatalf("notices = %+v", rep.Notices)
		}
		// Time to action, sorted: 0.5 2 3 5 → median (2+3)/2 = 2.5, p90 = rank ceil(3.6) = 4th = 5.
		if rep.TimeToAction.All != (Hours{N: 4, Median: 2.5, P90: 5}) {
			t.Fatalf("all = %+v", rep.TimeToAction.All)
		}
		if rep.TimeToAction.ByCategory[warden.CategoryScam] != (Hours{N: 2, Median: 2.5, P90: 3}) ||
			rep.TimeToAction.TrustedFlagger != (Hours{N: 1, Median: 0.5, P90: 0.5}) {
			t.Fatalf("by category %+v, trusted %+v", rep.TimeToAction.ByCategory, rep.TimeToAction.TrustedFlagger)
		}
		// One trusted flagger, one notice (C), acted on.
		if len(rep.TrustedFlaggers) != 1 || rep.TrustedFlaggers[0] != (FlaggerStats{Flagger: flagger.ID, Notices: 1, Decided: 1, Actioned: 1, Accuracy: 1}) {
			t.Fatalf("trusted flaggers = %+v", rep.TrustedFlaggers)
		}
		// Decisions: C, D, A, B by people, F by the engine: 1 of 5 automated;
		// statements for the 4 restrictions.
		if rep.Decisions.Total != 5 || rep.Decisions.Automated != 1 || rep.Decisions.AutomatedShare != 0.2 || rep.Decisions.Statements != 4 {
			t.Fatalf("decisions = %+v", rep.Decisions)
		}
		// Appeals: 3 filed, 1 pending, 1 reversed of 2 decided; times 2 h and 4 h.
		if rep.Appeals.Total != 3 || rep.Appeals.Pending != 1 || rep.Appeals.ReversalRate != 0.5 || rep.Appeals.DecisionTime != (Hours{N: 2, Median: 3, P90: 4}) ||
			rep.Appeals.ByKind[warden.AppealNotifier] != 1 {
			t.Fatalf("appeals = %+v", rep.Appeals)
		}
	})
}

// TestSimulatedDay runs a day of reports, detections and three moderators
// and checks the invariants: every reporter gets a receipt within 60 s and a
// decision notice when their case closes, every restriction has a valid
// statement of reasons, and the report's median matches a count made
// directly from the rows.
func TestSimulatedDay(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		rng := rand.New(rand.NewPCG(7, 7))
		clk := newClock()
		start := clk.Now()
		ctx := context.Background()
		const users, scammers = 300, 150
		isScammer := func(id string) bool { return id[0] == 'x' }
		var evs []warden.Event
		for i := range scammers {
			for j := range 4 {
				evs = append(evs, warden.Event{ID: fmt.Sprintf("e%d-%d", i, j), Type: warden.EventMessage, Time: start.Add(-time.Duration(j+1) * time.Hour),
					Actor: fmt.Sprintf("x%d", i), Target: fmt.Sprintf("u%d", rng.IntN(users)), TargetKind: warden.TargetAccount})
			}
		}
		logEvents(t, db, evs)
		s := newTestService(t, db, clk, nil)
		mods := []*warden.Principal{moderator, second, {ID: "mod-3", Role: warden.RoleModerator, Kind: "user"}}
		subject := func() string {
			if rng.IntN(3) == 0 {
				return fmt.Sprintf("x%d", rng.IntN(scammers))
			}
			return fmt.Sprintf("n%d", rng.IntN(200))
		}
		for minute := 0; minute < 24*60; minute += 2 {
			clk.Advance(2 * time.Minute)
			for range rng.IntN(3) {
				p := app
				if rng.IntN(20) == 0 {
					p = flagger
				}
				req := report(fmt.Sprintf("u%d", rng.IntN(users)), warden.TargetAccount, subject(), warden.Categories[rng.IntN(len(warden.Categories))])
				if _, _, err := s.Report(ctx, p, req, ""); err != nil {
					t.Fatal(err)
				}
			}
			if rng.IntN(150) == 0 {
				if _, _, err := s.Detect(ctx, Detection{Subject: SubjectRef{Kind: warden.TargetAccount, ID: fmt.Sprintf("x%d", rng.IntN(scammers))},
					Category: warden.CategoryScam, Confidence: 0.9 + rng.Float64()/10, Rule: "scam_links", Reason: "Sent known scam links.", Action: warden.ActBanAccount}); err != nil {
					t.Fatal(err)
				}
			}
			for _, m := range mods {
				if rng.IntN(12) != 0 {
					continue // a moderator takes a case every 24 minutes or so
				}
				c, err := s.Next(ctx, m, "")
				if err != nil {
					t.Fatal(err)
				}
				if c == nil {
					continue
				}
				decide(t, s, m, c, isScammer(c.SubjectID))
			}
		}
		// End of day: the shift clears the queue.
		for {
			c, err := s.Next(ctx, moderator, "")
			if err != nil {
				t.Fatal(err)
			}
			if c == nil {
				break
			}
			decide(t, s, moderator, c, isScammer(c.SubjectID))
		}
		checkDayInvariants(t, db, s, start)
	})
}

func decide(t *testing.T, s *Service, m *warden.Principal, c *warden.Case, bad bool) {
	t.Helper()
	req := DecisionRequest{Action: warden.ActNoViolation, Policy: "Community Guidelines", Explanation: "No breach found."}
	if bad {
		req = DecisionRequest{Action: warden.ActBanAccount, Policy: "Terms of Service §4.5 Fraud and scams", Explanation: "The account solicited money from other users."}
	}
	if _, err := s.Decide(context.Background(), m, c.ID, req); err != nil {
		t.Fatal(err)
	}
}

func checkDayInvariants(t *testing.T, db *sqlstore.DB, s *Service, start time.Time) {
	ctx := context.Background()
	var reports []warden.Report
	if err := db.Reader.Select(&reports, "SELECT "+"id, reporter, source, status, received_us, decided_us, decision_id, category FROM incident_reports WHERE source <> 'detection'"); err != nil {
		t.Fatal(err)
	}
	type notice struct {
		ReportID string        `db:"report_id"`
		Kind     string        `db:"kind"`
		UserID   string        `db:"user_id"`
		At       warden.Micros `db:"created_us"`
	}
	var ns []notice
	if err := db.Reader.Select(&ns, "SELECT report_id, kind, user_id, created_us FROM incident_notifications WHERE report_id <> ''"); err != nil {
		t.Fatal(err)
	}
	receipt, decision := map[string]warden.Micros{}, map[string]warden.Micros{}
	for _, n := range ns {
		switch n.Kind {
		case warden.NoticeReceipt:
			receipt[n.ReportID] = n.At
		case warden.NoticeDecision:
			decision[n.ReportID] = n.At
		}
	}
	var hand []float64
	for _, r := range reports {
		at, ok := receipt[r.ID]
		if !ok || at-r.ReceivedAt > 60_000_000 {
			t.Fatalf("report %s: receipt %v at %v, received %v", r.ID, ok, at, r.ReceivedAt)
		}
		if r.Status != warden.ReportDecided {
			t.Fatalf("report %s is %s after the queue was cleared", r.ID, r.Status)
		}
		if _, ok := decision[r.ID]; !ok {
			t.Fatalf("report %s was decided without a decision notice", r.ID)
		}
		var action string
		if err := db.Reader.Get(&action, "SELECT action FROM incident_decisions WHERE id = $1", r.DecisionID); err != nil {
			t.Fatal(err)
		}
		if action != warden.ActNoViolation {
			hand = append(hand, float64(r.DecidedAt-r.ReceivedAt)/3.6e9)
		}
	}
	var restrictions, statements int
	db.Reader.Get(&restrictions, "SELECT COUNT(*) FROM incident_decisions WHERE action <> 'no_violation'")
	var buf bytes.Buffer
	n, err := s.WriteStatements(ctx, &buf, start.Add(-time.Hour), start.Add(48*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		validateSoR(t, line)
		var st Statement
		json.Unmarshal(line, &st)
		if err := st.Check(); err != nil {
			t.Fatal(err)
		}
		statements++
	}
	if n != restrictions || statements != restrictions || restrictions == 0 {
		t.Fatalf("%d restrictions, %d statements", restrictions, statements)
	}
	rep, err := s.TransparencyReport(ctx, start.Add(-time.Hour), start.Add(48*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(hand)
	var median float64
	if k := len(hand); k%2 == 1 {
		median = hand[k/2]
	} else {
		median = (hand[k/2-1] + hand[k/2]) / 2
	}
	if rep.Notices.Total != len(reports) || rep.TimeToAction.All.N != len(hand) || rep.TimeToAction.All.Median != round3(median) {
		t.Fatalf("report says %d notices, %+v; hand count %d notices, %d actioned, median %.3f", rep.Notices.Total, rep.TimeToAction.All, len(reports), len(hand), median)
	}
	t.Logf("day: %d reports, %d restrictions, median %.2f h to action, p90 %.2f h, %d exposure notices",
		len(reports), restrictions, rep.TimeToAction.All.Median, rep.TimeToAction.All.P90, rep.ExposureNotices)
}
