package incident

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

// pages walks a listing page by page and returns every case id in order.
func pages(t *testing.T, s *Service, f CaseList) []string {
	t.Helper()
	var ids []string
	for n := 0; ; n++ {
		p, err := s.Cases(context.Background(), f)
		if err != nil {
			t.Fatalf("page %d of %+v: %v", n, f, err)
		}
		if len(p.Cases) > f.Limit {
			t.Fatalf("page %d holds %d cases, limit %d", n, len(p.Cases), f.Limit)
		}
		for _, c := range p.Cases {
			ids = append(ids, c.ID)
		}
		if p.NextCursor == "" {
			return ids
		}
		if n > 100 {
			t.Fatal("the listing does not end")
		}
		f.Cursor = p.NextCursor
	}
}

func TestQueuePagingFiltersAndCounts(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		clk := newClock()
		s := newTestService(t, db, clk, nil)
		cats := []string{warden.CategoryScam, warden.CategoryHarassment, warden.CategoryOther, warden.CategoryInappropriate}
		var caseIDs []string
		for i := 0; i < 23; i++ {
			// several reports on some subjects raise their priority, so the
			// order has ties and distinct keys both
			r := mustReport(t, s, app, report(fmt.Sprintf("u%d", i), warden.TargetAccount, fmt.Sprintf("acct%02d", i), cats[i%len(cats)]))
			if i%5 == 0 {
				mustReport(t, s, app, report(fmt.Sprintf("v%d", i), warden.TargetAccount, fmt.Sprintf("acct%02d", i), cats[i%len(cats)]))
			}
			caseIDs = append(caseIDs, r.CaseID)
			clk.Advance(time.Minute)
		}
		// two claimed by the moderator, three decided
		for _, id := range caseIDs[:2] {
			if _, err := s.Claim(ctx, moderator, id); err != nil {
				t.Fatal(err)
			}
		}
		for i, id := range caseIDs[20:] {
			clk.Advance(time.Minute)
			if _, err := s.Decide(ctx, moderator, id, DecisionRequest{Action: warden.ActBanAccount, Policy: "Terms §4.5", Explanation: fmt.Sprintf("Decision %d.", i)}); err != nil {
				t.Fatal(err)
			}
		}

		full, err := s.Cases(ctx, CaseList{Limit: MaxCaseLimit})
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, c := range full.Cases {
			want = append(want, c.ID)
		}
		if len(want) != 20 || full.NextCursor != "" {
			t.Fatalf("waiting = %d cases (next %q), want 20", len(want), full.NextCursor)
		}
		if got := pages(t, s, CaseList{Limit: 3}); !slices.Equal(got, want) {
			t.Fatalf("paged by 3:\n got %v\nwant %v", got, want)
		}
		closed := pages(t, s, CaseList{Status: warden.CaseClosed, Limit: 2})
		if !slices.Equal(closed, []string{caseIDs[22], caseIDs[21], caseIDs[20]}) {
			t.Fatalf("closed, latest first = %v", closed)
		}
		if got := pages(t, s, CaseList{Status: warden.CaseInReview, Limit: 1}); len(got) != 2 {
			t.Fatalf("in review = %v", got)
		}
		if got := pages(t, s, CaseList{Assignee: moderator.ID, Limit: 5}); len(got) != 2 {
			t.Fatalf("mine = %v", got)
		}
		if got := pages(t, s, CaseList{Assignee: "none", Limit: 5}); len(got) != 18 {
			t.Fatalf("nobody's = %d", len(got))
		}
		scams := pages(t, s, CaseList{Category: warden.CategoryScam, Limit: 2})
		for _, id := range scams {
			c, _ := db.CaseByID(ctx, id)
			if c.Category != warden.CategoryScam || c.ClosedAt != 0 {
				t.Fatalf("scam listing holds %+v", c)
			}
		}
		if len(scams) != 5 { // 0 4 8 12 16 (20 is decided)
			t.Fatalf("scams = %v", scams)
		}
		// a subject's history holds its decided case too
		hist := pages(t, s, CaseList{Subject: "acct21", Limit: 10})
		if !slices.Equal(hist, []string{caseIDs[21]}) {
			t.Fatalf("acct21's cases = %v", hist)
		}
		// SLA: the scams queue (4 h) breaches first
		clk.Advance(4 * time.Hour)
		breached := pages(t, s, CaseList{SLA: sqlstore.SLABreached, Limit: 4})
		if len(breached) == 0 {
			t.Fatal("nothing breached after 4 h")
		}
		for _, id := range breached {
			v, err := s.Cases(ctx, CaseList{Subject: caseSubject(t, db, id), Limit: 5})
			if err != nil || len(v.Cases) == 0 || !v.Cases[0].Breached || v.Cases[0].SLALeft == nil || *v.Cases[0].SLALeft >= 0 {
				t.Fatalf("breached case %s listed as %+v", id, v)
			}
		}
		onTime := pages(t, s, CaseList{SLA: sqlstore.SLAOnTime, Limit: 50})
		soon := pages(t, s, CaseList{SLA: sqlstore.SLADueSoon, Limit: 50})
		if len(breached)+len(onTime)+len(soon) != 20 {
			t.Fatalf("SLA states %d+%d+%d do not cover the 20 waiting cases", len(breached), len(onTime), len(soon))
		}

		counts, err := s.CaseCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		per := map[string]int64{}
		for _, c := range counts {
			per[c.Status] += c.N
		}
		if per[warden.CaseOpen] != 18 || per[warden.CaseInReview] != 2 || per[warden.CaseClosed] != 3 {
			t.Fatalf("counts = %+v", counts)
		}

		// a cursor of one listing does not continue another
		p, _ := s.Cases(ctx, CaseList{Limit: 2})
		if _, err := s.Cases(ctx, CaseList{Status: warden.CaseClosed, Cursor: p.NextCursor, Limit: 2}); !isField(err, "cursor") {
			t.Fatalf("closed listing with an urgent cursor: %v", err)
		}
	})
}

func caseSubject(t *testing.T, db *sqlstore.DB, id string) string {
	c, err := db.CaseByID(context.Background(), id)
	if err != nil || c == nil {
		t.Fatalf("case %s: %v", id, err)
	}
	return c.SubjectID
}

func isField(err error, field string) bool {
	fe, ok := err.(*warden.Error)
	return ok && fe.Field == field
}

func TestParseCaseListRefuses(t *testing.T) {
	for _, q := range []string{"status=done", "sla=late", "limit=0", "limit=501", "limit=x", "due_within=-1h",
		"due_within=1h&status=closed", "cursor=!!", "cursor=e30"} {
		v, _ := url.ParseQuery(q)
		if _, err := ParseCaseList(v, 50); err == nil {
			t.Errorf("%s accepted", q)
		}
	}
	v, _ := url.ParseQuery("status=closed&subject=+acct1+&limit=20&assignee=none&category=scam&sla=breached")
	f, err := ParseCaseList(v, 50)
	if err != nil || f.Subject != "acct1" || f.Limit != 20 || f.Status != warden.CaseClosed || f.Assignee != "none" {
		t.Fatalf("%+v, %v", f, err)
	}
}

// FuzzDecodeCursor: a cursor is either refused with the cursor field named
// or is one encodeCursor makes again byte for byte.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(encodeCursor(&sqlstore.CaseCursor{Order: "urgent", ID: "c_1", Keys: []int64{5, 1700000000}}))
	f.Add(encodeCursor(&sqlstore.CaseCursor{Order: "closed", ID: "c_2", Keys: []int64{-1}}))
	f.Add("")
	f.Add("e30")
	f.Add("eyJvcmRlciI6InVyZ2VudCJ9")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := decodeCursor(s)
		if err != nil {
			if !isField(err, "cursor") {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		again, err := decodeCursor(encodeCursor(c))
		if err != nil || again.ID != c.ID || !slices.Equal(again.Keys, c.Keys) || again.Order != c.Order {
			t.Fatalf("%q: %+v does not round-trip: %+v %v", s, c, again, err)
		}
	})
}
