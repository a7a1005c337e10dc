package incident

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/incident/incidenttest"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

func TestECExampleStatementValidates(t *testing.T) {
	validateSoR(t, incidenttest.Example)
	var st Statement
	if err := json.Unmarshal(incidenttest.Example, &st); err != nil {
		t.Fatal(err)
	}
	if err := st.Check(); err != nil {
		t.Fatalf("the EC example fails the stricter checks: %v", err)
	}
}

// Every measure on every category yields a statement that passes the schema
// and the stricter checks.
func TestStatementsForEveryMeasure(t *testing.T) {
	db := sqlstoretest.SQLite(t)
	clk := newClock()
	s := newTestService(t, db, clk, nil)
	ctx := context.Background()
	measures := []struct {
		kind, action, duration string
	}{
		{warden.TargetAccount, warden.ActLabel, ""},
		{warden.TargetAccount, warden.ActLabel, "720h"},
		{warden.TargetAccount, warden.ActRestrict, "168h"},
		{warden.TargetAccount, warden.ActSuspendAccount, "720h"},
		{warden.TargetAccount, warden.ActBanAccount, ""},
		{warden.TargetContent, warden.ActRemoveContent, ""},
		{warden.TargetContent, warden.ActLabel, ""},
		{warden.TargetContent, warden.ActRestrict, ""},
	}
	n := 0
	for _, m := range measures {
		for _, cat := range warden.Categories {
			n++
			req := report(fmt.Sprintf("rep%d", n), m.kind, fmt.Sprintf("subj%d", n), cat)
			if m.kind == warden.TargetContent {
				req.Subject.Owner = fmt.Sprintf("owner%d", n)
			}
			r := mustReport(t, s, app, req)
			d, err := s.Decide(ctx, moderator, r.CaseID, DecisionRequest{Action: m.action, Policy: "Community Guidelines §" + cat, Explanation: "The " + m.kind + " broke the rule.", Duration: m.duration})
			if err != nil {
				t.Fatalf("%s %s %s: %v", m.kind, m.action, cat, err)
			}
			validateSoR(t, d.SoR)
			var st Statement
			json.Unmarshal(d.SoR, &st)
			if err := st.Check(); err != nil {
				t.Fatalf("%s %s %s: %v", m.kind, m.action, cat, err)
			}
			if strings.Contains(string(d.SoR), req.Reporter) || strings.Contains(string(d.SoR), req.Subject.ID) {
				t.Fatalf("statement names a user: %s", d.SoR)
			}
		}
	}
}

func TestStatementCheckRejects(t *testing.T) {
	base := func() Statement {
		var st Statement
		if err := json.Unmarshal(incidenttest.Example, &st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	tests := []struct {
		name  string
		edit  func(*Statement)
		field string
	}{
		{"no restriction", func(s *Statement) { s.DecisionAccount, s.DecisionVisibility = "", nil }, "decision_visibility"},
		{"application before content", func(s *Statement) { s.ContentDate, s.ApplicationDate = "2026-05-10", "2026-05-09" }, "application_date"},
		{"end before application", func(s *Statement) { s.EndDateAccountRestriction = "2026-05-01" }, "end_date_account_restriction"},
		{"date not ISO", func(s *Statement) { s.ContentDate = "2026-5-2" }, "content_date"},
		{"date out of range", func(s *Statement) { s.ApplicationDate = "2039-01-01" }, "application_date"},
		{"keyword outside category", func(s *Statement) { s.CategorySpecification = []string{"KEYWORD_HATE_SPEECH"} }, "category_specification"},
		{"legacy category", func(s *Statement) { s.Category = "STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE" }, "category"},
		{"Greece as EL", func(s *Statement) { s.TerritorialScope = []string{"EL"} }, "territorial_scope"},
		{"e-mail in facts", func(s *Statement) { s.DecisionFacts = "Reported by jane.doe@example.org." }, "decision_facts"},
		{"phone in explanation", func(s *Statement) { s.IncompatibleContentExplain = "Called +49 170 1234567 repeatedly." }, "incompatible_content_explanation"},
		{"handle in explanation", func(s *Statement) { s.IncompatibleContentExplain = "Messaged @victim42 for money." }, "incompatible_content_explanation"},
		{"user id in explanation", func(s *Statement) { s.IncompatibleContentExplain = "Account scam1 asked for money." }, "incompatible_content_explanation"},
		{"puid with space", func(s *Statement) { s.PUID = "has space" }, "puid"},
		{"puid encodes a user", func(s *Statement) { s.PUID = "ban-scam1" }, "puid"},
		{"content type other without text", func(s *Statement) { s.ContentType, s.ContentTypeOther = []string{"CONTENT_TYPE_OTHER"}, "" }, "content_type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := base()
			tc.edit(&st)
			err := st.Check("scam1", "victim42")
			var we *warden.Error
			if err == nil || !asError(err, &we) || we.Field != tc.field {
				t.Fatalf("Check = %v, want an error on %s", err, tc.field)
			}
		})
	}
	st := base()
	st.IncompatibleContentExplain = "Between 2026-05-01 and 2026-05-09 the account announced fake giveaways."
	if err := st.Check("ann"); err != nil {
		t.Fatalf("dates and words containing a short id are not personal data: %v", err)
	}
}

func asError(err error, we **warden.Error) bool {
	e, ok := err.(*warden.Error)
	*we = e
	return ok
}

func TestDecisionRefusesPersonalDataInPublicText(t *testing.T) {
	db := sqlstoretest.SQLite(t)
	s := newTestService(t, db, newClock(), nil)
	ctx := context.Background()
	r := mustReport(t, s, app, report("reporter_jo", warden.TargetAccount, "crook9", warden.CategoryScam))
	for _, expl := range []string{"Reported by reporter_jo.", "Contact crook9@example.com for details", "See https://evil.example/profile"} {
		_, err := s.Decide(ctx, moderator, r.CaseID, DecisionRequest{Action: warden.ActBanAccount, Policy: "Terms §4.5", Explanation: expl})
		if warden.ErrorCode(err) != warden.EINVALID || !strings.Contains(err.Error(), "explanation") {
			t.Fatalf("explanation %q: %v, want EINVALID on explanation", expl, err)
		}
	}
	if k := kinds(inbox(t, s, "reporter_jo")); k != warden.NoticeReceipt {
		t.Fatalf("a refused decision sent notices: %s", k)
	}
	// The internal note may hold anything.
	if _, err := s.Decide(ctx, moderator, r.CaseID, DecisionRequest{Action: warden.ActBanAccount, Policy: "Terms §4.5", Explanation: "Asked users for money.", Note: "reporter_jo phoned +44 20 7946 0958"}); err != nil {
		t.Fatal(err)
	}
}

func TestClaimsNeverShareACase(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		s := newTestService(t, db, newClock(), nil)
		ctx := context.Background()
		for i := range 5 {
			mustReport(t, s, app, report("r", warden.TargetAccount, fmt.Sprintf("s%d", i), warden.CategoryScam))
		}
		var mu sync.Mutex
		got := map[string]string{}
		var wg sync.WaitGroup
		for m := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p := &warden.Principal{ID: fmt.Sprintf("mod%d", m), Role: warden.RoleModerator, Kind: "user"}
				c, err := s.Next(ctx, p, "")
				if err != nil {
					t.Error(err)
					return
				}
				if c != nil {
					mu.Lock()
					defer mu.Unlock()
					if prev, dup := got[c.ID]; dup {
						t.Errorf("case %s given to %s and %s", c.ID, prev, p.ID)
					}
					got[c.ID] = p.ID
				}
			}()
		}
		wg.Wait()
		if len(got) != 5 {
			t.Fatalf("claimed %d cases, want all 5", len(got))
		}
		for id, holder := range got {
			other := moderator
			if holder == moderator.ID {
				other = second
			}
			_, err := s.Claim(ctx, other, id)
			wantCode(t, err, warden.ECONFLICT)
			_, err = s.Decide(ctx, other, id, DecisionRequest{Action: warden.ActNoViolation, Policy: "p", Explanation: "e"})
			wantCode(t, err, warden.ECONFLICT)
		}
	})
}

func TestReportDedupeAndIdempotency(t *testing.T) {
	db := sqlstoretest.SQLite(t)
	clk := newClock()
	s := newTestService(t, db, clk, nil)
	ctx := context.Background()
	req := report("u1", warden.TargetAccount, "s1", warden.CategoryScam)
	a := mustReport(t, s, app, req)
	clk.Advance(time.Hour)
	b, replay, err := s.Report(ctx, app, req, "")
	if err != nil || !replay || b.ID != a.ID {
		t.Fatalf("same report an hour later = %v %v %v, want a replay of %s", b, replay, err, a.ID)
	}
	other := req
	other.Category = warden.CategoryImpersonation
	c := mustReport(t, s, app, other)
	if c.ID == a.ID || c.CaseID != a.CaseID {
		t.Fatalf("another category should be a new report on the same case: %+v vs %+v", c, a)
	}
	clk.Advance(24 * time.Hour)
	d := mustReport(t, s, app, req)
	if d.ID == a.ID {
		t.Fatal("after the dedupe window a report is new")
	}
	if k := kinds(inbox(t, s, "u1")); k != "receipt,receipt,receipt" {
		t.Fatalf("inbox = %s, want a receipt per new report and none for the replay", k)
	}
	keyed := report("u2", warden.TargetAccount, "s1", warden.CategoryScam)
	e, _, err := s.Report(ctx, app, keyed, "k1")
	if err != nil {
		t.Fatal(err)
	}
	f, replay, err := s.Report(ctx, app, keyed, "k1")
	if err != nil || !replay || f.ID != e.ID {
		t.Fatalf("same Idempotency-Key = %v %v %v", f, replay, err)
	}
	var cases int
	db.Reader.Get(&cases, "SELECT COUNT(*) FROM incident_cases")
	if cases != 1 {
		t.Fatalf("%d cases for one subject, want 1", cases)
	}
}

func TestNotifierAppealAgainstNoActionReopensTheCase(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		clk := newClock()
		s := newTestService(t, db, clk, nil)
		ctx := context.Background()
		r1 := mustReport(t, s, app, report("u1", warden.TargetAccount, "fake7", warden.CategoryFakeProfile))
		r2 := mustReport(t, s, app, report("u2", warden.TargetAccount, "fake7", warden.CategoryFakeProfile))
		d, err := s.Decide(ctx, moderator, r1.CaseID, DecisionRequest{Action: warden.ActNoViolation, Policy: "Authentic identity", Explanation: "The profile looked genuine."})
		if err != nil {
			t.Fatal(err)
		}
		if len(d.SoR) != 0 {
			t.Fatal("a decision not to act has no statement of reasons")
		}
		// Within the standing period a new report gets the no-action at once.
		r3 := mustReport(t, s, app, report("u3", warden.TargetAccount, "fake7", warden.CategoryFakeProfile))
		if r3.DecisionID != d.ID {
			t.Fatalf("new report = %+v, want the standing decision", r3)
		}
		_, _, err = s.Appeal(ctx, AppealRequest{Appellant: "fake7", DecisionID: d.ID, Reason: "x"})
		wantCode(t, err, warden.EFORBIDDEN)
		_, _, err = s.Appeal(ctx, AppealRequest{Appellant: "u2", ReportID: r1.ID, Reason: "x"})
		wantCode(t, err, warden.ENOTFOUND)

		clk.Advance(24 * time.Hour)
		a, _, err := s.Appeal(ctx, AppealRequest{Appellant: "u1", ReportID: r1.ID, Reason: "It copies my sister's photos."})
		if err != nil || a.Kind != warden.AppealNotifier {
			t.Fatalf("appeal = %+v, %v", a, err)
		}
		again, replay, err := s.Appeal(ctx, AppealRequest{Appellant: "u1", DecisionID: d.ID, Reason: "again"})
		if err != nil || !replay || again.ID != a.ID {
			t.Fatalf("second appeal = %+v %v %v, want the pending one", again, replay, err)
		}
		clk.Advance(2 * time.Hour)
		if _, err := s.DecideAppeal(ctx, second, a.ID, AppealDecisionRequest{Outcome: warden.AppealReversed, Explanation: "The photos match another person."}); err != nil {
			t.Fatal(err)
		}
		open, err := listCases(s, CaseList{})
		if err != nil || len(open) != 1 || open[0].ID == r1.CaseID {
			t.Fatalf("open cases after reversal = %s", dump(open))
		}
		if k := kinds(inbox(t, s, "u2")); k != "receipt,decision,reversal" {
			t.Fatalf("u2 = %s", k)
		}
		// The reopened case is decided; both original reporters hear of it.
		d2, err := s.Decide(ctx, moderator, open[0].ID, DecisionRequest{Action: warden.ActBanAccount, Policy: "Authentic identity", Explanation: "The profile uses another person's photos."})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range []*warden.Report{r1, r2} {
			ns := inbox(t, s, r.Reporter)
			last := ns[len(ns)-1]
			if last.Kind != warden.NoticeDecision || last.DecisionID != d2.ID {
				t.Fatalf("%s's last notice = %+v", r.Reporter, last)
			}
		}
		if !s.Labels().Has("fake7", "banned") {
			t.Fatal("no label after the second decision")
		}
		_ = r2
	})
}

func TestAppealWindowAndRoles(t *testing.T) {
	db := sqlstoretest.SQLite(t)
	clk := newClock()
	s := newTestService(t, db, clk, nil)
	ctx := context.Background()
	r := mustReport(t, s, app, report("u1", warden.TargetAccount, "bad1", warden.CategoryScam))
	d, err := s.Decide(ctx, moderator, r.CaseID, DecisionRequest{Action: warden.ActSuspendAccount, Policy: "Fraud", Explanation: "Asked for money.", Duration: "720h"})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Labels().Has("bad1", "suspended") {
		t.Fatal("no suspension label")
	}
	// The labels survive a restart: a new service loads them from the store.
	again := newTestService(t, db, clk, nil)
	if !again.Labels().Has("bad1", "suspended") || !again.Labels().Has("bad1", warden.CategoryScam) {
		t.Fatalf("labels after a restart = %v", again.Labels().Of("bad1"))
	}
	_, _, err = s.Appeal(ctx, AppealRequest{Appellant: "u1", ReportID: r.ID, Reason: "too lenient"})
	wantCode(t, err, warden.ECONFLICT) // reporters appeal only decisions not to act
	_, _, err = s.Appeal(ctx, AppealRequest{Appellant: "stranger", DecisionID: d.ID, Reason: "x"})
	wantCode(t, err, warden.EFORBIDDEN)
	clk.Advance(184 * 24 * time.Hour) // six months from 1 June end on 1 December
	_, _, err = s.Appeal(ctx, AppealRequest{Appellant: "bad1", DecisionID: d.ID, Reason: "late"})
	wantCode(t, err, warden.ECONFLICT)
	if !strings.Contains(err.Error(), "six-month") {
		t.Fatalf("error %v does not say why", err)
	}
	if s.Labels().Has("bad1", "suspended") {
		t.Fatal("a 30-day suspension label outlived its end")
	}
}

func TestDetections(t *testing.T) {
	db := sqlstoretest.SQLite(t)
	clk := newClock()
	s := newTestService(t, db, clk, nil)
	ctx := context.Background()
	c, d, err := s.Detect(ctx, Detection{Subject: SubjectRef{Kind: warden.TargetAccount, ID: "bot1"}, Category: warden.CategoryFakeProfile,
		Confidence: 0.99, Rule: "lockstep_ring", Reason: "Acted in lockstep with 40 other new accounts.", Action: warden.ActSuspendAccount, Duration: 720 * time.Hour})
	if err != nil || d == nil || !d.Automated || c.Status != warden.CaseClosed {
		t.Fatalf("confident detection = %+v %+v %v", c, d, err)
	}
	var st Statement
	json.Unmarshal(d.SoR, &st)
	if st.AutomatedDecision != "AUTOMATED_DECISION_FULLY" || st.AutomatedDetection != "Yes" || st.SourceType != "SOURCE_VOLUNTARY" {
		t.Fatalf("statement automation fields = %s", d.SoR)
	}
	validateSoR(t, d.SoR)
	if k := kinds(inbox(t, s, "bot1")); k != warden.NoticeStatement || !strings.Contains(inbox(t, s, "bot1")[0].Body, "automated means") {
		t.Fatalf("owner's notice = %s", dump(inbox(t, s, "bot1")))
	}
	// A hesitant detection queues a case for a person; a user report joins it.
	c2, d2, err := s.Detect(ctx, Detection{Subject: SubjectRef{Kind: warden.TargetAccount, ID: "maybe1"}, Category: warden.CategoryScam, Confidence: 0.6, Rule: "r", Reason: "Odd links.", Action: warden.ActBanAccount})
	if err != nil || d2 != nil || c2.Status != warden.CaseOpen || !c2.Automated {
		t.Fatalf("hesitant detection = %+v %+v %v", c2, d2, err)
	}
	r := mustReport(t, s, app, report("u1", warden.TargetAccount, "maybe1", warden.CategoryScam))
	if r.CaseID != c2.ID {
		t.Fatal("the user report did not join the engine's case")
	}
	d3, err := s.Decide(ctx, moderator, c2.ID, DecisionRequest{Action: warden.ActBanAccount, Policy: "Fraud", Explanation: "Sent phishing links."})
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(d3.SoR, &st)
	if st.AutomatedDecision != "AUTOMATED_DECISION_NOT_AUTOMATED" || st.AutomatedDetection != "Yes" || st.SourceType != "SOURCE_ARTICLE_16" {
		t.Fatalf("statement = %s", d3.SoR)
	}
	if _, err := s.DecideAppeal(ctx, &warden.Principal{ID: "engine", Kind: "engine"}, "A-X", AppealDecisionRequest{Outcome: warden.AppealReversed, Explanation: "x"}); warden.ErrorCode(err) != warden.EFORBIDDEN {
		t.Fatalf("the engine decided an appeal: %v", err)
	}
}

func TestCaseViewHidesNothingFromModeratorsAndBreachView(t *testing.T) {
	db := sqlstoretest.SQLite(t)
	clk := newClock()
	s := newTestService(t, db, clk, nil)
	scam := mustReport(t, s, app, report("u1", warden.TargetAccount, "a1", warden.CategoryScam))   // 4h SLA
	gen := mustReport(t, s, app, report("u2", warden.TargetAccount, "a2", warden.CategoryOther))   // 24h SLA
	_ = mustReport(t, s, app, report("u3", warden.TargetAccount, "a3", warden.CategoryHarassment)) // 12h
	clk.Advance(3 * time.Hour)
	soon, err := listCases(s, CaseList{DueWithin: 2 * time.Hour})
	if err != nil || len(soon) != 1 || soon[0].ID != scam.CaseID {
		t.Fatalf("about to breach = %s", dump(soon))
	}
	clk.Advance(2 * time.Hour)
	all, _ := listCases(s, CaseList{})
	for _, c := range all {
		if (c.ID == scam.CaseID) != c.Breached {
			t.Fatalf("case %s breached = %v", c.ID, c.Breached)
		}
	}
	q, _ := listCases(s, CaseList{Queue: "general"})
	if len(q) != 1 || q[0].ID != gen.CaseID {
		t.Fatalf("general queue = %s", dump(q))
	}
}

// Concurrent reports on one subject (and on a few others, so batches mix
// subjects) make exactly one open case per subject, with every report and
// every receipt.
func TestConcurrentReportsOneCasePerSubject(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		s := newTestService(t, db, newClock(), nil)
		ctx := context.Background()
		var wg sync.WaitGroup
		const n = 60
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req := report(fmt.Sprintf("c%d", i), warden.TargetAccount, fmt.Sprintf("hot%d", i%3), warden.CategoryScam)
				if _, _, err := s.Report(ctx, app, req, ""); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		var rows []struct {
			Subject string `db:"subject_id"`
			Cases   int    `db:"cases"`
			Reports int    `db:"reports"`
		}
		if err := db.Reader.Select(&rows, "SELECT subject_id, COUNT(*) AS cases, SUM(reports) AS reports FROM incident_cases GROUP BY subject_id ORDER BY subject_id"); err != nil {
			t.Fatal(err)
		}
		if len(rows) != 3 {
			t.Fatalf("cases per subject = %+v", rows)
		}
		for _, r := range rows {
			if r.Cases != 1 || r.Reports != n/3 {
				t.Fatalf("subject %s: %d cases, %d reports; want 1 and %d", r.Subject, r.Cases, r.Reports, n/3)
			}
		}
		var receipts int
		db.Reader.Get(&receipts, "SELECT COUNT(*) FROM incident_notifications WHERE kind = 'receipt'")
		if receipts != n {
			t.Fatalf("%d receipts for %d reports", receipts, n)
		}
	})
}

func TestTrustedFlaggerNoticeMovesTheCaseAndItsDeadline(t *testing.T) {
	db := sqlstoretest.SQLite(t)
	clk := newClock()
	s := newTestService(t, db, clk, nil)
	ctx := context.Background()
	r := mustReport(t, s, app, report("u1", warden.TargetAccount, "m1", warden.CategoryMisinformation)) // general, 24 h
	clk.Advance(2 * time.Hour)
	mustReport(t, s, flagger, report("factcheck-org", warden.TargetAccount, "m1", warden.CategoryMisinformation))
	v, err := s.Case(ctx, r.CaseID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Queue != "trusted_flagger" || !v.DueAt.Time().Equal(clk.Now().Add(time.Hour)) || v.Priority < 100 {
		t.Fatalf("after the trusted flagger's notice: queue %s, due %v (now %v), priority %d", v.Queue, v.DueAt.Time(), clk.Now(), v.Priority)
	}
}

// listCases is the first page of a listing.
func listCases(s *Service, f CaseList) ([]CaseSummary, error) {
	p, err := s.Cases(context.Background(), f)
	if err != nil {
		return nil, err
	}
	return p.Cases, nil
}
