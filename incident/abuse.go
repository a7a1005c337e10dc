package incident

import (
	"context"
	"fmt"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/sqlstore"
)

// AbusePolicy is the DSA Art. 23 procedure for reporters who frequently
// submit manifestly unfounded notices: when at least MinDecided of their
// last 200 reports are decided and at most MaxActionRate of those led to
// action, they are warned; if the record is still that poor Grace after
// the warning, processing of their notices is suspended for Suspension.
// After a suspension a new warning comes before any new suspension.
type AbusePolicy struct {
	MinDecided    int
	MaxActionRate float64
	Grace         time.Duration
	Suspension    time.Duration
}

// DefaultAbusePolicy: 20 decided reports, at most 10% acted on, a week's
// grace, a 30-day suspension.
var DefaultAbusePolicy = AbusePolicy{MinDecided: 20, MaxActionRate: 0.1, Grace: 7 * 24 * time.Hour, Suspension: 30 * 24 * time.Hour}

// screenReporter applies the procedure to a user's report and returns the
// reporter's credibility. A suspended reporter's report is refused with
// EFORBIDDEN; the warning and the suspension (with their notices) are
// recorded even so, in the same transaction.
func (s *Service) screenReporter(ctx context.Context, t *sqlstore.IncidentTx, r *warden.Report) (float64, error) {
	if r.Source != warden.SourceUser {
		return 0.5, nil // trusted flaggers have their own lane (and Art. 22(6)); the engine is neutral
	}
	now := r.ReceivedAt
	st, err := t.ReporterStanding(ctx, r.Reporter)
	if err != nil {
		return 0, err
	}
	if st.SuspendedUntil > now {
		return 0, suspendedError(st)
	}
	decided, actioned := st.Decided, st.Actioned
	cred := credibility(decided, actioned)
	p := s.opt.Abuse
	if decided < p.MinDecided || float64(actioned) > p.MaxActionRate*float64(decided) {
		return cred, nil
	}
	switch {
	case st.WarnedAt == 0 || st.WarnedAt < st.SuspendedAt:
		st.WarnedAt = now
		if err := t.SetReporterStanding(ctx, st); err != nil {
			return 0, err
		}
		_, err := s.notifyMsg(ctx, t, r.Reporter, warden.NoticeReporterWarning, reporterWarningMessage(decided, actioned, p), warden.Notification{})
		return cred, err
	case now-st.WarnedAt >= warden.Micros(p.Grace.Microseconds()):
		st.SuspendedAt, st.SuspendedUntil, st.Suspensions = now, now+warden.Micros(p.Suspension.Microseconds()), st.Suspensions+1
		if err := t.SetReporterStanding(ctx, st); err != nil {
			return 0, err
		}
		if _, err := s.notifyMsg(ctx, t, r.Reporter, warden.NoticeReporterSuspended, reporterSuspendedMessage(st), warden.Notification{}); err != nil {
			return 0, err
		}
		return 0, suspendedError(st)
	}
	return cred, nil // warned, still within the grace period
}

func suspendedError(st sqlstore.ReporterStanding) error {
	return warden.Errorf(warden.EFORBIDDEN, "processing of reports from %s is suspended until %s: most of their recent reports were unfounded (DSA Art. 23), after a warning",
		st.Reporter, st.SuspendedUntil.Time().Format(time.DateOnly))
}

func reporterWarningMessage(decided, actioned int, p AbusePolicy) message {
	return message{title: "About your reports",
		body: fmt.Sprintf("Of your last %d reports that we reviewed, %d showed a breach of our rules. Please report only content or accounts you believe break them. "+
			"If most of your reports keep proving unfounded, we will stop processing your reports for %d days.", decided, actioned, int(p.Suspension.Hours()/24))}
}

func reporterSuspendedMessage(st sqlstore.ReporterStanding) message {
	return message{title: "We have paused processing your reports",
		body: fmt.Sprintf("After our earlier warning, most of your reports still showed no breach of our rules, so we will not process new reports from you until %s. "+
			"You can contest this through our complaint system. %s", st.SuspendedUntil.Time().Format("2 January 2006"), redress)}
}
