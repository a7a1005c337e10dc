package incident

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/wardenhq/warden"
)

// Verdicts reach incidents through a bounded queue: Observe is called on the
// ingest path and must never block it, so when the queue is full a
// detection is dropped (the next flagged event of the actor brings it back).

// VerdictBridge turns the engine's flagged verdicts into detections: a
// verdict whose action is review or block, from a rule in enforce mode,
// opens (or joins) a case on the acting account for a person to decide.
// It never decides by itself: automated decisions come only from Detect
// calls that name an action.
type VerdictBridge struct {
	svc   *Service
	queue chan Detection
	mu    sync.Mutex
	seen  map[string]time.Time // actor → last detection queued
	// Quiet is how long after a detection on an actor further flagged
	// events of that actor are not queued again; the case already has it.
	Quiet time.Duration
}

// NewVerdictBridge returns a bridge with a queue of size n (1024 if zero).
func (s *Service) NewVerdictBridge(n int) *VerdictBridge {
	if n <= 0 {
		n = 1024
	}
	return &VerdictBridge{svc: s, queue: make(chan Detection, n), seen: map[string]time.Time{}, Quiet: time.Hour}
}

// Observe queues a detection for every flagged verdict; it does not block.
func (b *VerdictBridge) Observe(evs []warden.Event, vs []warden.Verdict) {
	now := b.svc.now()
	for i := range vs {
		if i >= len(evs) || vs[i].Action < warden.ActionReview {
			continue
		}
		if det, ok := escalation(evs[i], vs[i]); ok {
			// a ladder's restriction is decided, not deduplicated: its
			// cooldown already makes it one per offence
			select {
			case b.queue <- det:
			default:
				b.svc.opt.Logger.Warn("incident: the detection queue is full; a ladder restriction waits for the next strike", "rule", det.Rule)
			}
			continue
		}
		var hit *warden.Hit
		for k, h := range vs[i].Hits {
			if h.Mode == warden.ModeEnforce && h.Action >= warden.ActionReview {
				hit = &vs[i].Hits[k]
				break
			}
		}
		actor := evs[i].Actor
		if hit == nil || hit.Case == warden.CaseNone || actor == "" || !b.fresh(actor, now) {
			continue // CaseNone: the rule enforces alone (anonymous clients, IP ranges)
		}
		category := hit.Category
		if !slices.Contains(warden.Categories, category) {
			category = warden.CategoryOther
		}
		det := Detection{Subject: SubjectRef{Kind: warden.TargetAccount, ID: actor}, Category: category,
			Confidence: vs[i].Score, Rule: hit.Rule, Reason: hit.Reason, Case: hit.Case}
		if hit.Case != "" && hit.Case != warden.CaseAccount {
			ev := evs[i]
			det.Event = &ev
		}
		select {
		case b.queue <- det:
		default:
			b.forget(actor) // dropped: let the next flagged event try again
		}
	}
}

func (b *VerdictBridge) fresh(actor string, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if last, ok := b.seen[actor]; ok && now.Sub(last) < b.Quiet {
		return false
	}
	if len(b.seen) > 100000 {
		for a, t := range b.seen {
			if now.Sub(t) >= b.Quiet {
				delete(b.seen, a)
			}
		}
	}
	b.seen[actor] = now
	return true
}

func (b *VerdictBridge) forget(actor string) {
	b.mu.Lock()
	delete(b.seen, actor)
	b.mu.Unlock()
}

// Run files queued detections until ctx ends.
func (b *VerdictBridge) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case det := <-b.queue:
			if _, _, err := b.svc.Detect(ctx, det); err != nil && ctx.Err() == nil {
				b.svc.opt.Logger.Error("detection not filed", "subject", det.Subject.ID, "rule", det.Rule, "err", err)
			}
		}
	}
}

// escalation returns the automated restriction a verdict's ladder hit
// reached (suspend or ban), as a detection that decides the account's case
// with its own statement of reasons.
func escalation(ev warden.Event, v warden.Verdict) (Detection, bool) {
	for _, h := range v.Hits {
		x := h.Escalation
		if x == nil || h.Mode != warden.ModeEnforce || ev.Actor == "" {
			continue
		}
		det := Detection{Subject: SubjectRef{Kind: warden.TargetAccount, ID: ev.Actor}, Category: h.Category, Confidence: 1,
			Rule: h.Rule, Reason: h.Reason}
		switch x.Step {
		case "ban":
			det.Action = warden.ActBanAccount
		case "suspend":
			d, err := time.ParseDuration(x.Duration)
			if err != nil || d <= 0 {
				continue
			}
			det.Action, det.Duration = warden.ActSuspendAccount, d
		default:
			continue
		}
		if !slices.Contains(warden.Categories, det.Category) {
			det.Category = warden.CategoryOther
		}
		return det, true
	}
	return Detection{}, false
}
