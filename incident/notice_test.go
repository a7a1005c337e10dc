package incident

import (
	"strings"
	"testing"
	"time"

	"github.com/wardenhq/warden"
)

// The user a decision is about filed no report: their statement of reasons
// must not thank them for one, while the reporter's notice speaks of theirs.
func TestNoticesSpeakToTheirReader(t *testing.T) {
	for _, tc := range []struct {
		name                string
		automated, detected bool
	}{{"manual", false, false}, {"detected", false, true}, {"automated", true, false}} {
		d := &warden.Decision{ID: "D1", Action: warden.ActBanAccount, SubjectKind: warden.TargetAccount, SubjectID: "s3",
			Category: warden.CategoryScam, Policy: "scams", Explanation: "sent payment scams", Automated: tc.automated, Detected: tc.detected,
			DecidedAt: warden.MicrosOf(time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC))}
		if body := statementMessage(d).body; strings.Contains(body, "your report") {
			t.Errorf("%s: the banned account's statement speaks of its report: %s", tc.name, body)
		}
		r := &warden.Report{ID: "R1", Category: warden.CategoryScam, SubjectKind: warden.TargetAccount}
		if body := reporterDecisionMessage(r, d).body; !strings.Contains(body, "your report (reference R1)") {
			t.Errorf("%s: the reporter's notice does not name their report: %s", tc.name, body)
		}
	}
	d := &warden.Decision{ID: "D1", Action: warden.ActBanAccount, SubjectKind: warden.TargetAccount, Category: warden.CategoryScam}
	if body := statementMessage(d).body; !strings.Contains(body, "A person reviewed this case") {
		t.Errorf("a manual decision's statement does not say a person decided: %s", body)
	}
}
