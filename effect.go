package warden

import "strings"

// Effect is a measure Warden took that the platform must apply, as the
// platform receives it: a machine event of kind EventEffect in the outbox,
// signed and retried like every webhook. An effect is either a step an
// enforcement ladder reached on an event (By "rule") or a moderator's
// restrictive decision (By "moderator"). It is queued in the transaction
// that makes its cause durable (the event's append, the decision's
// commit), so an accepted cause always has its effect delivered or
// dead-lettered, and its webhook-id stays the same on every retry and
// redelivery, for the receiver to drop copies.
type Effect struct {
	// ID names the effect: "eff_<event id>_<policy>" for a ladder step,
	// "eff_<decision id>" for a decision.
	ID      string        `json:"id"`
	Account string        `json:"account"`
	Subject EffectSubject `json:"subject"`
	// Action is one of EffectActions.
	Action string `json:"action"`
	// Until is when a timed measure (a suspension) ends; null: no end.
	Until *Micros `json:"until"`
	By    string  `json:"by"` // EffectByRule or EffectByModerator
	At    Micros  `json:"at"` // the event's time, or the decision's
	// Rule and Version name the rule whose hit counted the strike, Policy
	// and Strike the ladder and the strike number; EventID the event.
	Rule    string `json:"rule,omitempty"`
	Version int    `json:"version,omitempty"`
	Policy  string `json:"policy,omitempty"`
	Strike  int    `json:"strike,omitempty"`
	EventID string `json:"event_id,omitempty"`
	// DecisionID and StatementID name a moderator's decision and its
	// statement of reasons.
	DecisionID  string `json:"decision_id,omitempty"`
	StatementID string `json:"statement_id,omitempty"`
	Reason      string `json:"reason,omitempty"`
}

// EffectSubject is what the effect is on: the account, or one of its
// contents.
type EffectSubject struct {
	Kind string `json:"kind"` // TargetAccount or TargetContent
	ID   string `json:"id"`
}

// EventEffect is the outbox kind, and the webhook type, of an effect.
const EventEffect = "effect"

// Who took an effect.
const (
	EffectByRule      = "rule"
	EffectByModerator = "moderator"
)

// EffectActions lists what an effect asks the platform to do: a ladder's
// steps (warn, challenge, rate_limit, suspend, ban) and a moderator's
// restrictive decisions (restrict, suspend, ban, remove_content, label).
var EffectActions = []string{"warn", "challenge", "rate_limit", "suspend", "ban", "restrict", "remove_content", "label"}

// EffectAction is the effect action of a decision action:
// suspend_account and ban_account become suspend and ban.
func EffectAction(decisionAction string) string {
	return strings.TrimSuffix(decisionAction, "_account")
}

// RuleRestricted is the hit the engine adds for an account under a
// restriction (its next event is blocked): a consequence of a decision,
// not a rule's judgement, so rule quality leaves it out.
const RuleRestricted = "account_restricted"
