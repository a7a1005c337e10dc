package warden

import (
	"context"
	"fmt"
)

// Action is what Warden advises the platform to do with an event. Actions are
// ordered by severity: a verdict carries the most severe action of its rules
// in enforce mode.
type Action uint8

const (
	ActionAllow Action = iota
	ActionChallenge
	ActionRateLimit
	ActionReview
	ActionBlock
)

var actionNames = [...]string{"allow", "challenge", "rate_limit", "review", "block"}

// Actions lists every action, least severe first.
var Actions = []Action{ActionAllow, ActionChallenge, ActionRateLimit, ActionReview, ActionBlock}

func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return fmt.Sprintf("action(%d)", a)
}

// ParseAction returns the Action named s.
func ParseAction(s string) (Action, error) {
	for i, n := range actionNames {
		if n == s {
			return Action(i), nil
		}
	}
	return 0, Errorf(EINVALID, "unknown action %q: use allow, challenge, rate_limit, review or block", s)
}

func (a Action) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

func (a *Action) UnmarshalText(b []byte) error {
	v, err := ParseAction(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// Rule modes.
const (
	ModeDisabled = "disabled"
	ModeShadow   = "shadow"
	ModeSampled  = "sampled"
	ModeEnforce  = "enforce"
	// ModeHoldout marks the hit of an enforce-mode rule on an actor in
	// the rule's hold-out group (package enforce's safety valves): scored
	// and recorded, not acted on.
	ModeHoldout = "holdout"
)

// Hit is one rule that matched an event, and why, in words a moderator can read.
type Hit struct {
	Rule    string `json:"rule"`
	Version int    `json:"version"`
	Action  Action `json:"action"`
	Mode    string `json:"mode"`
	Reason  string `json:"reason"`
	// Category is what the rule is about, as a report category (scam,
	// fake_profile …): a case the hit opens goes to that category's queue.
	Category string `json:"category,omitempty"`
	// Case is what a flagged hit puts before a person (the rule's case:
	// in YAML): CaseAccount, a campaign (CaseLockstep, CaseText,
	// CaseLinked) or CaseNone. It is for incidents, not for the platform.
	Case string `json:"-"`
	// Partners names the partner platforms whose imported lists the
	// rule's condition found the event's values on (partner_listed), when
	// it read any.
	Partners []string `json:"partners,omitempty"`
	// Escalation, on the hit an enforcement ladder adds, is the strike it
	// counted and the step it reached.
	Escalation *Escalation `json:"escalation,omitempty"`
}

// Escalation is a ladder step a verdict reached: the account's strike
// number under a policy and what that strike brings (warn, challenge,
// rate_limit, suspend with its duration, ban).
type Escalation struct {
	Policy   string `json:"policy"`
	Strike   int    `json:"strike"`
	Step     string `json:"step"`
	Duration string `json:"duration,omitempty"`
	// Rule is the rule whose hit counted the strike, RuleVersion its
	// version.
	Rule        string `json:"rule,omitempty"`
	RuleVersion int    `json:"rule_version,omitempty"`
}

// What a rule's flagged hits open for a person to decide.
const (
	CaseAccount  = "account"           // a case on the acting account (the default)
	CaseLockstep = "campaign:lockstep" // one campaign case per lockstep crowd
	CaseText     = "campaign:text"     // one campaign case per near-duplicate text wave
	CaseLinked   = "campaign:linked"   // one campaign case per linked-account group
	CaseNone     = "none"              // none: the rule enforces alone (anonymous clients, IP ranges)
)

// CaseKinds lists every value of a rule's case:.
var CaseKinds = []string{CaseAccount, CaseLockstep, CaseText, CaseLinked, CaseNone}

// Restriction is a measure in force on an account after a decision: what
// its next event gets (block for a ban or suspension, challenge for a
// restriction), which decision imposed it, and until when (0: no end).
type Restriction struct {
	Measure    string // "banned", "suspended", "restricted"
	Action     Action
	DecisionID string
	Since      Micros
	Until      Micros
}

// Verdict is Warden's answer for one event (CONTRACT §2). Score is in [0,1].
type Verdict struct {
	EventID string  `json:"event_id"`
	Action  Action  `json:"action"`
	Score   float64 `json:"score"`
	Hits    []Hit   `json:"hits"`
}

// Engine decides verdicts. Evaluate is called once per accepted event, in the
// order events are accepted, and may be called from many goroutines at once.
// Implementations must not retain ev after returning.
type Engine interface {
	Evaluate(ctx context.Context, ev *Event) Verdict
}

// AllowAll is the Engine that allows everything: what Warden does with no rules.
type AllowAll struct{}

func (AllowAll) Evaluate(_ context.Context, ev *Event) Verdict {
	return Verdict{EventID: ev.ID, Action: ActionAllow, Hits: []Hit{}}
}
