package incident

import (
	"context"
	"time"

	"github.com/wardenhq/warden"
)

// strikeTTL is how long a restrictive decision counts as a strike against
// its account (CONTRACT §10): a year, the span the DSA's Art. 23 misuse
// policy looks back on.
const strikeTTL = 365 * 24 * time.Hour

// Standing is an account's record as the platform sees it (CONTRACT §10).
type Standing struct {
	Account     string             `json:"account"`
	Strikes     []Strike           `json:"strikes"`
	Restriction *StandingMeasure   `json:"restriction"`
	History     []StandingDecision `json:"history"`
}

// Strike is a restrictive decision still counting against the account.
type Strike struct {
	Policy    string        `json:"policy"`
	Rule      *string       `json:"rule"` // null: a moderator's decision
	At        warden.Micros `json:"at"`
	ExpiresAt warden.Micros `json:"expires_at"`
}

// StandingMeasure is the measure in force: the decision's action and when
// it ends (null: no end).
type StandingMeasure struct {
	Action     string         `json:"action"`
	Until      *warden.Micros `json:"until"`
	DecisionID string         `json:"decision_id"`
}

// StandingDecision is one decision in the account's history.
type StandingDecision struct {
	Action      string        `json:"action"`
	At          warden.Micros `json:"at"`
	By          string        `json:"by"` // "rule" for automated decisions, else "moderator"
	StatementID string        `json:"statement_id,omitempty"`
	ReversedAt  warden.Micros `json:"reversed_at,omitempty"`
	// PendingUntil, on an automated suspension or ban waiting for its
	// jittered delay (package enforce's safety valves), is when the delay
	// ends: the measure takes effect on the account's next event after it,
	// and gets its decision and statement then.
	PendingUntil *warden.Micros `json:"pending_until,omitempty"`
}

var measureAction = map[string]string{"banned": warden.ActBanAccount, "suspended": warden.ActSuspendAccount, "restricted": warden.ActRestrict}

// Standing returns account's strikes, the measure in force and its
// decision history, newest first (up to 200 decisions).
func (s *Service) Standing(ctx context.Context, account string) (*Standing, error) {
	ds, err := s.db.SubjectDecisions(ctx, warden.TargetAccount, account, 200)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	st := &Standing{Account: account, Strikes: []Strike{}, History: []StandingDecision{}}
	for _, d := range ds {
		h := StandingDecision{Action: d.Action, At: d.DecidedAt, By: "moderator", ReversedAt: d.ReversedAt}
		if d.Automated {
			h.By = "rule"
		}
		if d.Restrictive() {
			h.StatementID = d.ID // a statement of reasons' puid is its decision's id
			if exp := d.DecidedAt + warden.Micros(strikeTTL.Microseconds()); d.ReversedAt == 0 && exp > now {
				st.Strikes = append(st.Strikes, Strike{Policy: d.Policy, At: d.DecidedAt, ExpiresAt: exp})
			}
		}
		st.History = append(st.History, h)
	}
	if f := s.strikes.Load(); f != nil {
		st.Strikes = append(st.Strikes, (*f)(account, now.Time())...)
	}
	if f := s.pending.Load(); f != nil {
		// Only when there are some: the history stays [] rather than null.
		if p := (*f)(account); len(p) > 0 {
			st.History = append(p, st.History...)
		}
	}
	if r, ok := s.labels.Restriction(account); ok {
		m := &StandingMeasure{Action: measureAction[r.Measure], DecisionID: r.DecisionID}
		if r.Until != 0 {
			m.Until = &r.Until
		}
		st.Restriction = m
	}
	return st, nil
}

// SetStrikes gives Standing the engine's live ladder strikes of an account
// (package enforce), listed beside its restrictive decisions.
func (s *Service) SetStrikes(f func(account string, now time.Time) []Strike) {
	s.strikes.Store(&f)
}

// SetPending gives Standing the engine's delayed restrictions of an
// account (package enforce), listed first in its history with their
// pending_until.
func (s *Service) SetPending(f func(account string) []StandingDecision) {
	s.pending.Store(&f)
}
