package incident

import (
	"context"
	"sync"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/sqlstore"
)

// Labels is the in-memory set of enforcement labels on entities, which rules
// read on the hot path (engine's Labels interface). It is loaded from the
// store at start and updated after every decision and reversal commits; the
// store stays the source of truth.
type Labels struct {
	mu  sync.RWMutex
	m   map[string]map[string]int64 // entity → label → expiry (unix µs, 0 = never)
	now func() time.Time
}

// NewLabels returns an empty label set.
func NewLabels() *Labels {
	return &Labels{m: map[string]map[string]int64{}, now: time.Now}
}

// Load replaces the set with the store's labels.
func (l *Labels) Load(ctx context.Context, db *sqlstore.DB) error {
	m := map[string]map[string]int64{}
	err := db.AllLabels(ctx, func(lb sqlstore.Label) {
		if m[lb.Entity] == nil {
			m[lb.Entity] = map[string]int64{}
		}
		m[lb.Entity][lb.Label] = int64(lb.ExpiresAt)
	})
	if err != nil {
		return err
	}
	l.mu.Lock()
	l.m = m
	l.mu.Unlock()
	return nil
}

// Has reports whether entity carries label now.
func (l *Labels) Has(entity, label string) bool {
	l.mu.RLock()
	exp, ok := l.m[entity][label]
	l.mu.RUnlock()
	return ok && (exp == 0 || exp > l.now().UnixMicro())
}

// Of returns the labels entity carries now.
func (l *Labels) Of(entity string) []string {
	now := l.now().UnixMicro()
	l.mu.RLock()
	defer l.mu.RUnlock()
	var out []string
	for lb, exp := range l.m[entity] {
		if exp == 0 || exp > now {
			out = append(out, lb)
		}
	}
	return out
}

func (l *Labels) put(lb sqlstore.Label) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m[lb.Entity] == nil {
		l.m[lb.Entity] = map[string]int64{}
	}
	l.m[lb.Entity][lb.Label] = int64(lb.ExpiresAt)
}

func (l *Labels) remove(lb sqlstore.Label) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.m[lb.Entity], lb.Label)
	if len(l.m[lb.Entity]) == 0 {
		delete(l.m, lb.Entity)
	}
}

// decisionLabels are the labels a decision puts on its subject: the measure
// ("banned", "suspended", …) and, for a restriction, the category ("scam"),
// so that a rule can say labels.Has(actor, "scam").
func decisionLabels(d *warden.Decision) []sqlstore.Label {
	if !d.Restrictive() {
		return nil
	}
	entity := d.SubjectID
	mk := func(name string) sqlstore.Label {
		return sqlstore.Label{Entity: entity, Label: name, DecisionID: d.ID, CreatedAt: d.DecidedAt, ExpiresAt: d.EndsAt}
	}
	out := []sqlstore.Label{mk(measureLabel[d.Action]), mk(d.Category)}
	// A content decision also marks the owner's account, so rules can treat
	// repeat offenders differently.
	if d.SubjectKind == warden.TargetContent && d.Owner != "" {
		out = append(out, sqlstore.Label{Entity: d.Owner, Label: "offender:" + d.Category, DecisionID: d.ID, CreatedAt: d.DecidedAt, ExpiresAt: d.EndsAt})
	}
	return out
}

var measureLabel = map[string]string{
	warden.ActRemoveContent:  "removed",
	warden.ActLabel:          "labelled",
	warden.ActRestrict:       "restricted",
	warden.ActSuspendAccount: "suspended",
	warden.ActBanAccount:     "banned",
}
