package incident

import (
	"context"
	"encoding/json"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/notify"
	"github.com/wardenhq/warden/sqlstore"
)

// Outbound is the delivery side the service queues for (a notify.Worker):
// which channels are configured, and a wake-up after a commit that queued
// deliveries. A nil Outbound means the inbox is the only channel.
type Outbound interface {
	Has(channel string) bool
	WebhookURL() string
	Kick()
}

// webhookPayload is what the platform receives for a notification.
type webhookPayload struct {
	Type         string               `json:"type"`
	Notification *warden.Notification `json:"notification"`
}

func (s *Service) has(channel string) bool {
	return s.opt.Outbound != nil && s.opt.Outbound.Has(channel)
}

func (s *Service) queueDelivery(ctx context.Context, t *sqlstore.IncidentTx, n *warden.Notification) error {
	now := n.CreatedAt
	if s.has(warden.ChannelWebhook) {
		body, err := json.Marshal(webhookPayload{Type: warden.DeliveryNotification, Notification: n})
		if err != nil {
			return err
		}
		if err := t.InsertDelivery(ctx, &warden.Delivery{Kind: warden.DeliveryNotification, Ref: n.ID, Channel: warden.ChannelWebhook,
			Target: s.opt.Outbound.WebhookURL(), Payload: string(body), Status: warden.DeliveryPending, NextAt: now, CreatedAt: now}); err != nil {
			return err
		}
	}
	if s.has(warden.ChannelEmail) {
		email, err := t.Contact(ctx, n.UserID)
		if err != nil || email == "" {
			return err
		}
		msg, err := notify.MailPayload(n.Title, n.Body)
		if err != nil {
			return err
		}
		return t.InsertDelivery(ctx, &warden.Delivery{Kind: warden.DeliveryNotification, Ref: n.ID, Channel: warden.ChannelEmail,
			Target: email, Payload: msg, Status: warden.DeliveryPending, NextAt: now, CreatedAt: now})
	}
	return nil
}

// DecisionEvent is the data of a decision.created webhook: what the
// platform must enforce, with no personal data beyond the account's id.
type DecisionEvent struct {
	DecisionID  string         `json:"decision_id"`
	CaseID      string         `json:"case_id"`
	Subject     SubjectRef     `json:"subject"`
	Account     string         `json:"account,omitempty"` // the subject's owner
	Action      string         `json:"action"`
	Category    string         `json:"category"`
	Policy      string         `json:"policy"`
	Automated   bool           `json:"automated"`
	DecidedAt   warden.Micros  `json:"decided_at"`
	EndsAt      *warden.Micros `json:"ends_at"` // null: no end
	StatementID string         `json:"statement_id,omitempty"`
}

// LiftedEvent is the data of a restriction.lifted webhook.
type LiftedEvent struct {
	DecisionID string        `json:"decision_id"`
	Subject    SubjectRef    `json:"subject"`
	Account    string        `json:"account,omitempty"`
	Action     string        `json:"action"`
	Reason     string        `json:"reason"` // "expired" or "reversed"
	At         warden.Micros `json:"at"`
}

// queueDecisionEvents queues decision.created for d and, for a restriction
// with an end, the restriction.lifted that is due when it ends.
func (s *Service) queueDecisionEvents(ctx context.Context, t *sqlstore.IncidentTx, d *warden.Decision) error {
	if !s.has(warden.ChannelWebhook) {
		return nil
	}
	ev := DecisionEvent{DecisionID: d.ID, CaseID: d.CaseID, Subject: SubjectRef{Kind: d.SubjectKind, ID: d.SubjectID}, Account: d.Owner,
		Action: d.Action, Category: d.Category, Policy: d.Policy, Automated: d.Automated, DecidedAt: d.DecidedAt}
	if d.EndsAt != 0 {
		ev.EndsAt = &d.EndsAt
	}
	if len(d.SoR) > 0 {
		ev.StatementID = d.ID
	}
	if err := s.queueEvent(ctx, t, warden.EventDecisionCreated, d.ID, d.DecidedAt, d.DecidedAt, ev); err != nil {
		return err
	}
	if d.Restrictive() && !d.Automated {
		// An automated restriction's effect went out with the event whose
		// ladder step caused it, queued in that event's transaction.
		if err := s.queueEvent(ctx, t, warden.EventEffect, "eff_"+d.ID, d.DecidedAt, d.DecidedAt, moderatorEffect(d, ev)); err != nil {
			return err
		}
	}
	if d.Restrictive() && d.EndsAt != 0 {
		return s.queueEvent(ctx, t, warden.EventRestrictionLifted, d.ID, d.EndsAt, d.DecidedAt, liftedEvent(d, "expired", d.EndsAt))
	}
	return nil
}

// moderatorEffect is the effect of a moderator's restrictive decision d.
func moderatorEffect(d *warden.Decision, ev DecisionEvent) warden.Effect {
	account := d.Owner
	if d.SubjectKind == warden.TargetAccount {
		account = d.SubjectID
	}
	return warden.Effect{ID: "eff_" + d.ID, Account: account, Subject: warden.EffectSubject{Kind: d.SubjectKind, ID: d.SubjectID},
		Action: warden.EffectAction(d.Action), Until: ev.EndsAt, By: warden.EffectByModerator, At: d.DecidedAt,
		Policy: d.Policy, DecisionID: d.ID, StatementID: ev.StatementID}
}

func liftedEvent(d *warden.Decision, reason string, at warden.Micros) LiftedEvent {
	return LiftedEvent{DecisionID: d.ID, Subject: SubjectRef{Kind: d.SubjectKind, ID: d.SubjectID}, Account: d.Owner,
		Action: d.Action, Reason: reason, At: at}
}

// queueLifted tells the platform that d's restriction ended early (an
// appeal reversed it): the delivery scheduled for the end of its term is
// brought forward, or a new one queued for a restriction without an end.
func (s *Service) queueLifted(ctx context.Context, t *sqlstore.IncidentTx, d *warden.Decision, now warden.Micros) error {
	if !s.has(warden.ChannelWebhook) || !d.Restrictive() || (d.EndsAt != 0 && d.EndsAt <= now) {
		return nil // nothing in force to lift: it ended, and its delivery is out
	}
	payload, err := notify.EventPayload(warden.EventRestrictionLifted, now.Time(), liftedEvent(d, "reversed", now))
	if err != nil {
		return err
	}
	n, err := t.RescheduleDelivery(ctx, warden.EventRestrictionLifted, d.ID, payload, now)
	if err != nil || n > 0 {
		return err
	}
	return s.queueEvent(ctx, t, warden.EventRestrictionLifted, d.ID, now, now, liftedEvent(d, "reversed", now))
}

func (s *Service) queueEvent(ctx context.Context, t *sqlstore.IncidentTx, typ, ref string, due, created warden.Micros, data any) error {
	payload, err := notify.EventPayload(typ, due.Time(), data)
	if err != nil {
		return err
	}
	return t.InsertDelivery(ctx, &warden.Delivery{Kind: typ, Ref: ref, Channel: warden.ChannelWebhook, Target: s.opt.Outbound.WebhookURL(),
		Payload: payload, Status: warden.DeliveryPending, NextAt: due, CreatedAt: created})
}

// kick wakes the delivery worker after a commit that queued deliveries.
func (s *Service) kick() {
	if s.opt.Outbound != nil {
		s.opt.Outbound.Kick()
	}
}

// DeadLetters lists deliveries that were given up on, newest first.
func (s *Service) DeadLetters(ctx context.Context, limit int) ([]warden.Delivery, error) {
	return s.db.Deliveries(ctx, warden.DeliveryDead, limit)
}

// RetryDelivery puts a dead-lettered delivery back in the queue.
func (s *Service) RetryDelivery(ctx context.Context, seq int64) error {
	ok, err := s.db.RetryDelivery(ctx, seq, s.clock())
	if err != nil {
		return err
	}
	if !ok {
		return warden.Errorf(warden.ENOTFOUND, "no dead-lettered delivery %d", seq)
	}
	s.kick()
	return nil
}
