package incident

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

// seedScammer logs a scam account that signed up 40 days ago, messaged v1
// and v2 and followed v2 within the last 90 days, and messaged old1 long
// before that.
func seedScammer(t testing.TB, db *sqlstore.DB, now time.Time) {
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	day := 24 * time.Hour
	logEvents(t, db, []warden.Event{
		{ID: "s0", Type: warden.EventSignup, Time: ago(40 * day), Actor: "scam1", IP: "203.0.113.7", Device: "dev-9", Attrs: map[string]any{"email": "Scam.One+x@gmail.com"}},
		{ID: "s1", Type: warden.EventMessage, Time: ago(10 * day), Actor: "scam1", Target: "v1", TargetKind: warden.TargetAccount, Text: "send 200 EUR"},
		{ID: "s2", Type: warden.EventMessage, Time: ago(9 * day), Actor: "scam1", Target: "v2", TargetKind: warden.TargetAccount, Text: "send 200 EUR"},
		{ID: "s3", Type: warden.EventFollow, Time: ago(9 * day), Actor: "scam1", Target: "v2", TargetKind: warden.TargetAccount},
		{ID: "s4", Type: warden.EventMessage, Time: ago(120 * day), Actor: "scam1", Target: "old1", TargetKind: warden.TargetAccount},
		{ID: "o1", Type: warden.EventLogin, Time: ago(day), Actor: "alt7", IP: "203.0.113.7", Device: "dev-9"},
		// Linked as the detector links: the same gmail address, written otherwise.
		{ID: "o2", Type: warden.EventSignup, Time: ago(2 * day), Actor: "alt8", IP: "198.51.100.3", Device: "dev-2", Attrs: map[string]any{"email": "scamone@googlemail.com"}},
	}, "s1", "s2")
}

// TestMustShowLoop is the "must show": three users and a trusted
// flagger report one scam account that had messaged two other users → one
// case, receipts, the trusted flagger's report first → a moderator bans the
// account → every reporter sees the decision, the owner gets the statement
// of reasons and can appeal, the two contacted users get exposure notices,
// and the statements export validates against the schema.
func TestMustShowLoop(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		clk := newClock()
		seedScammer(t, db, clk.Now())
		s := newTestService(t, db, clk, nil)

		// An older, unrelated case is already waiting.
		mustReport(t, s, app, report("u9", warden.TargetAccount, "rude1", warden.CategoryHarassment))
		clk.Advance(time.Minute)

		var reports []*warden.Report
		for _, u := range []string{"alice", "bob", "carol"} {
			reports = append(reports, mustReport(t, s, app, report(u, warden.TargetAccount, "scam1", warden.CategoryScam)))
			clk.Advance(time.Minute)
		}
		reports = append(reports, mustReport(t, s, flagger, report("tf-org", warden.TargetAccount, "scam1", warden.CategoryScam)))

		caseID := reports[0].CaseID
		for _, r := range reports {
			if r.CaseID != caseID {
				t.Fatalf("report %s went to case %s, want the one case %s", r.ID, r.CaseID, caseID)
			}
			ns := inbox(t, s, r.Reporter)
			if kinds(ns) != warden.NoticeReceipt || !strings.Contains(ns[0].Body, caseID) || !strings.Contains(ns[0].Body, r.ID) {
				t.Fatalf("%s's inbox = %s, want one receipt naming the case and report", r.Reporter, dump(ns))
			}
		}

		queue, err := s.Cases(ctx, CaseList{})
		if err != nil {
			t.Fatal(err)
		}
		if len(queue) != 2 || queue[0].ID != caseID || queue[0].Queue != "trusted_flagger" || !queue[0].Trusted {
			t.Fatalf("queue = %s, want the trusted-flagger case first", dump(queue))
		}
		view, err := s.Case(ctx, caseID)
		if err != nil {
			t.Fatal(err)
		}
		if view.Reports[0].Source != warden.SourceTrustedFlagger || len(view.Reports) != 4 {
			t.Fatalf("case reports = %s, want 4 with the trusted flagger's first", dump(view.Reports))
		}
		if view.Reach != 2 || view.Detections != 2 || len(view.History) != 2 {
			t.Fatalf("reach %d detections %d history %d, want 2, 2, 2", view.Reach, view.Detections, len(view.History))
		}
		if len(view.Linked) != 2 || !slices.Contains(view.Linked, LinkedAccount{"alt7", "device"}) || !slices.Contains(view.Linked, LinkedAccount{"alt8", "email"}) {
			t.Fatalf("linked = %v, want alt7 (shared device) and alt8 (same email)", view.Linked)
		}

		clk.Advance(20 * time.Minute)
		c, err := s.Next(ctx, moderator, "")
		if err != nil || c == nil || c.ID != caseID {
			t.Fatalf("next = %v, %v; want case %s", c, err, caseID)
		}
		clk.Advance(10 * time.Minute)
		const note = "matches ring 42, see ticket SEC-991"
		d, err := s.Decide(ctx, moderator, caseID, DecisionRequest{
			Action: warden.ActBanAccount, Policy: "Terms of Service §4.5 Fraud and scams",
			Explanation: "The account asked several users to transfer money while posing as a bank.", Note: note,
		})
		if err != nil {
			t.Fatal(err)
		}

		for _, r := range reports {
			ns := inbox(t, s, r.Reporter)
			if kinds(ns) != "receipt,in_review,decision" {
				t.Fatalf("%s's inbox = %s", r.Reporter, kinds(ns))
			}
			v, err := s.ReportView(ctx, app, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			var steps []string
			for _, st := range v.Timeline {
				steps = append(steps, st.Status)
			}
			if v.Status != warden.ReportDecided || strings.Join(steps, ">") != "received>in_review>decided" {
				t.Fatalf("report view = %s", dump(v))
			}
			if !strings.Contains(v.Timeline[2].Message, "permanent removal of the account") {
				t.Fatalf("decision message %q does not say what was done", v.Timeline[2].Message)
			}
		}

		owner := inbox(t, s, "scam1")
		if kinds(owner) != warden.NoticeStatement {
			t.Fatalf("owner's inbox = %s, want a statement of reasons", kinds(owner))
		}
		var sn struct {
			DecisionID string          `json:"decision_id"`
			SoR        json.RawMessage `json:"statement_of_reasons"`
			Redress    map[string]any  `json:"redress"`
		}
		if err := json.Unmarshal(owner[0].Data, &sn); err != nil || sn.DecisionID != d.ID || sn.Redress["appeal"] == nil {
			t.Fatalf("statement notice data = %s (%v)", owner[0].Data, err)
		}
		validateSoR(t, sn.SoR)

		for _, u := range []string{"v1", "v2"} {
			if k := kinds(inbox(t, s, u)); k != warden.NoticeExposure {
				t.Fatalf("%s's inbox = %q, want one exposure notice", u, k)
			}
		}
		if k := kinds(inbox(t, s, "old1")); k != "" {
			t.Fatalf("old1 (contacted 120 days ago) got %q", k)
		}
		assertNoLeak(t, db, note)
		assertNoLeak(t, db, "alice") // no reporter is named to anyone
		if !s.Labels().Has("scam1", "banned") || !s.Labels().Has("scam1", warden.CategoryScam) {
			t.Fatalf("labels = %v", s.Labels().Of("scam1"))
		}

		// A fifth report after the ban gets the decision at once.
		late := mustReport(t, s, app, report("u4", warden.TargetAccount, "scam1", warden.CategoryScam))
		if late.Status != warden.ReportDecided || late.DecisionID != d.ID || kinds(inbox(t, s, "u4")) != "receipt,decision" {
			t.Fatalf("late report = %+v, inbox %s", late, kinds(inbox(t, s, "u4")))
		}

		var buf bytes.Buffer
		n, err := s.WriteStatements(ctx, &buf, clk.Now().Add(-time.Hour), clk.Now().Add(time.Hour))
		if err != nil || n != 1 {
			t.Fatalf("statements: %d, %v", n, err)
		}
		for _, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
			validateSoR(t, line)
		}

		// The owner appeals; the deciding moderator may not judge it.
		a, _, err := s.Appeal(ctx, AppealRequest{Appellant: "scam1", DecisionID: d.ID, Reason: "I am a real bank employee"})
		if err != nil {
			t.Fatal(err)
		}
		if v, err := s.Case(ctx, caseID); err != nil || len(v.Appeals) != 1 || v.Appeals[0].ID != a.ID {
			t.Fatalf("case view appeals = %v, %v", v, err)
		}
		_, err = s.DecideAppeal(ctx, moderator, a.ID, AppealDecisionRequest{Outcome: warden.AppealReversed, Explanation: "x"})
		wantCode(t, err, warden.ECONFLICT)
		if _, err := s.DecideAppeal(ctx, second, a.ID, AppealDecisionRequest{Outcome: warden.AppealReversed, Explanation: "The documents showed a genuine employee."}); err != nil {
			t.Fatal(err)
		}
		if s.Labels().Has("scam1", "banned") {
			t.Fatal("the reversal left the ban label in place")
		}
		if k := kinds(inbox(t, s, "scam1")); k != "statement_of_reasons,appeal_received,appeal_decided" {
			t.Fatalf("owner's inbox after appeal = %s", k)
		}
		for _, u := range []string{"alice", "tf-org", "v1", "v2"} {
			ns := inbox(t, s, u)
			if ns[len(ns)-1].Kind != warden.NoticeReversal {
				t.Fatalf("%s was not told of the reversal: %s", u, kinds(ns))
			}
		}
		events, err := db.CaseEvents(ctx, caseID)
		if err != nil {
			t.Fatal(err)
		}
		var audit []string
		for _, e := range events {
			audit = append(audit, e.Kind)
		}
		for _, want := range []string{"case_opened", "report_added", "rerouted", "claimed", "decided", "exposure_notices", "appeal_filed", "appeal_decided", "reversed"} {
			if !slices.Contains(audit, want) {
				t.Fatalf("audit log %v lacks %s", audit, want)
			}
		}
	})
}

// assertNoLeak fails if s appears in any notification or webhook payload.
func assertNoLeak(t testing.TB, db *sqlstore.DB, s string) {
	t.Helper()
	var n int
	err := db.Reader.Get(&n, "SELECT COUNT(*) FROM incident_notifications WHERE title LIKE $1 OR body LIKE $1 OR data LIKE $1", "%"+s+"%")
	if err != nil {
		t.Fatal(err)
	}
	if n > 0 {
		t.Fatalf("%q reached %d notifications", s, n)
	}
}
