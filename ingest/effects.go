package ingest

import (
	"fmt"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/notify"
	"github.com/wardenhq/warden/sqlstore"
)

// Outbound is where effects are delivered (a notify.Worker): the
// platform's webhook endpoint ("" when none is configured, and then no
// effect is queued), and a wake-up after a commit that queued some.
type Outbound interface {
	WebhookURL() string
	Kick()
}

// Outputs sets what rec, the event log's record of ev with its verdict v,
// carries beside them, written in the same transaction: the hits rule
// quality counts and, when webhookURL is set, the effects of v's ladder
// steps queued for delivery (created at now). It reports whether it queued
// any. Both the one-node intake and a cluster partition use it.
func Outputs(rec *sqlstore.EventRecord, ev *warden.Event, v *warden.Verdict, webhookURL string, now warden.Micros) (bool, error) {
	rec.Hits = measuredHits(v)
	if webhookURL == "" {
		return false, nil
	}
	var err error
	if rec.Outbox, err = effects(ev, v, webhookURL, now); err != nil {
		return false, fmt.Errorf("encode effects: %w", err)
	}
	return len(rec.Outbox) > 0, nil
}

// measuredHits are the hits of v that rule quality counts: the rules'
// own, not the steps ladders add nor the hit of a restriction in force.
func measuredHits(v *warden.Verdict) []sqlstore.RuleHit {
	var out []sqlstore.RuleHit
	for _, h := range v.Hits {
		if h.Escalation != nil || h.Rule == warden.RuleRestricted {
			continue
		}
		out = append(out, sqlstore.RuleHit{Rule: h.Rule, Version: h.Version, Mode: h.Mode})
	}
	return out
}

// effects are the outbox deliveries of the ladder steps v reached on ev,
// to the webhook at url, created at now.
func effects(ev *warden.Event, v *warden.Verdict, url string, now warden.Micros) ([]warden.Delivery, error) {
	var out []warden.Delivery
	for _, h := range v.Hits {
		x := h.Escalation
		if x == nil || h.Mode != warden.ModeEnforce || ev.Actor == "" {
			continue
		}
		at := warden.MicrosOf(ev.Time)
		e := warden.Effect{ID: "eff_" + ev.ID + "_" + x.Policy, Account: ev.Actor,
			Subject: warden.EffectSubject{Kind: warden.TargetAccount, ID: ev.Actor}, Action: x.Step, By: warden.EffectByRule, At: at,
			Rule: x.Rule, Policy: x.Policy, Strike: x.Strike, EventID: ev.ID, Reason: h.Reason}
		e.Version = x.RuleVersion
		if d, err := time.ParseDuration(x.Duration); err == nil && d > 0 {
			until := at + warden.Micros(d.Microseconds())
			e.Until = &until
		}
		payload, err := notify.EventPayload(warden.EventEffect, ev.Time, e)
		if err != nil {
			return nil, err
		}
		out = append(out, warden.Delivery{Kind: warden.EventEffect, Ref: e.ID, Channel: warden.ChannelWebhook, Target: url,
			Payload: payload, Status: warden.DeliveryPending, NextAt: now, CreatedAt: now})
	}
	return out, nil
}
