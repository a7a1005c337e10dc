package incident

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

// TestUnfoundedReporterIsWarnedThenSuspended follows DSA Art. 23: a warning
// first, a suspension only after the grace period, and a new warning after
// the suspension ends.
func TestUnfoundedReporterIsWarnedThenSuspended(t *testing.T) {
	db := sqlstoretest.SQLite(t)
	clk := newClock()
	s := newTestService(t, db, clk, nil)
	ctx := context.Background()
	n := 0
	file := func() error {
		n++
		_, _, err := s.Report(ctx, app, report("cry", warden.TargetAccount, fmt.Sprintf("fine%d", n), warden.CategoryScam), "")
		return err
	}
	for range 20 {
		if err := file(); err != nil {
			t.Fatal(err)
		}
		c, err := s.Next(ctx, moderator, "")
		if err != nil || c == nil {
			t.Fatalf("next = %v, %v", c, err)
		}
		if _, err := s.Decide(ctx, moderator, c.ID, DecisionRequest{Action: warden.ActNoViolation, Policy: "Fraud", Explanation: "No breach found."}); err != nil {
			t.Fatal(err)
		}
	}
	last := func() warden.Notification { ns := inbox(t, s, "cry"); return ns[len(ns)-1] }
	if strings.Contains(kinds(inbox(t, s, "cry")), warden.NoticeReporterWarning) {
		t.Fatal("warned before the record was complete")
	}
	if err := file(); err != nil {
		t.Fatalf("the report after 20 unfounded ones was refused without a warning: %v", err)
	}
	if k := kinds(inbox(t, s, "cry")); strings.Count(k, warden.NoticeReporterWarning) != 1 {
		t.Fatalf("inbox = %s, want one warning", k)
	}
	clk.Advance(3 * 24 * time.Hour)
	if err := file(); err != nil {
		t.Fatalf("refused within the grace period: %v", err)
	}
	clk.Advance(5 * 24 * time.Hour)
	err := file()
	wantCode(t, err, warden.EFORBIDDEN)
	if !strings.Contains(err.Error(), "Art. 23") || last().Kind != warden.NoticeReporterSuspended {
		t.Fatalf("refusal %v, last notice %s", err, last().Kind)
	}
	wantCode(t, file(), warden.EFORBIDDEN)
	other := mustReport(t, s, app, report("fair", warden.TargetAccount, "fine1", warden.CategoryScam))
	if other.Status == "" {
		t.Fatal("another reporter was affected")
	}
	rep, err := s.TransparencyReport(ctx, clk.Now().Add(-time.Hour), clk.Now().Add(time.Hour))
	if err != nil || rep.ReporterSuspensions != 1 {
		t.Fatalf("suspensions in the report = %d, %v", rep.ReporterSuspensions, err)
	}
	clk.Advance(31 * 24 * time.Hour)
	if err := file(); err != nil {
		t.Fatalf("refused after the suspension ended: %v", err)
	}
	if k := kinds(inbox(t, s, "cry")); strings.Count(k, warden.NoticeReporterWarning) != 2 || !strings.HasSuffix(k, "reporter_warning,receipt") {
		t.Fatalf("after a suspension a new warning comes first; inbox = %s", k)
	}
}
