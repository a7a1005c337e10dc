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
	m   map[string]map[string]labelEntry // entity → label → its entry
	now func() time.Time
}

type labelEntry struct {
	exp      int64 // unix µs, 0 = never
	since    int64 // unix µs
	decision string
}

// NewLabels returns an empty label set.
func NewLabels() *Labels {
	return &Labels{m: map[string]map[string]labelEntry{}, now: time.Now}
}

// Load replaces the set with the store's labels.
func (l *Labels) Load(ctx context.Context, db *sqlstore.DB) error {
	m := map[string]map[string]labelEntry{}
	err := db.AllLabels(ctx, func(lb warden.Label) {
		if m[lb.Entity] == nil {
			m[lb.Entity] = map[string]labelEntry{}
		}
		m[lb.Entity][lb.Label] = entryOf(lb)
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
	e, ok := l.m[entity][label]
	l.mu.RUnlock()
	return ok && e.live(l.now().UnixMicro())
}

func (e labelEntry) live(now int64) bool { return e.exp == 0 || e.exp > now }

func entryOf(lb warden.Label) labelEntry {
	return labelEntry{exp: int64(lb.ExpiresAt), since: int64(lb.CreatedAt), decision: lb.DecisionID}
}

// restrictionActions are the measure labels that restrict what an account
// may do, most severe first, with what its next event gets.
var restrictionActions = []struct {
	label  string
	action warden.Action
}{{"banned", warden.ActionBlock}, {"suspended", warden.ActionBlock}, {"restricted", warden.ActionChallenge}}

// Restriction returns the most severe measure in force on account, for the
// engine: a banned or suspended account's next event is blocked, a
// restricted one's challenged, with a hit that names the decision.
func (l *Labels) Restriction(account string) (warden.Restriction, bool) {
	now := l.now().UnixMicro()
	l.mu.RLock()
	defer l.mu.RUnlock()
	ls := l.m[account]
	if len(ls) == 0 {
		return warden.Restriction{}, false
	}
	for _, ra := range restrictionActions {
		if e, ok := ls[ra.label]; ok && e.live(now) {
			return warden.Restriction{Measure: ra.label, Action: ra.action, DecisionID: e.decision, Since: warden.Micros(e.since), Until: warden.Micros(e.exp)}, true
		}
	}
	return warden.Restriction{}, false
}

// Of returns the labels entity carries now.
func (l *Labels) Of(entity string) []string {
	now := l.now().UnixMicro()
	l.mu.RLock()
	defer l.mu.RUnlock()
	var out []string
	for lb, e := range l.m[entity] {
		if e.live(now) {
			out = append(out, lb)
		}
	}
	return out
}

func (l *Labels) put(lb warden.Label) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m[lb.Entity] == nil {
		l.m[lb.Entity] = map[string]labelEntry{}
	}
	l.m[lb.Entity][lb.Label] = entryOf(lb)
}

func (l *Labels) remove(lb warden.Label) {
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
func decisionLabels(d *warden.Decision) []warden.Label {
	if !d.Restrictive() {
		return nil
	}
	entity := d.SubjectID
	mk := func(name string) warden.Label {
		return warden.Label{Entity: entity, Label: name, DecisionID: d.ID, CreatedAt: d.DecidedAt, ExpiresAt: d.EndsAt}
	}
	out := []warden.Label{mk(measureLabel[d.Action]), mk(d.Category)}
	// A content decision also marks the owner's account, so rules can treat
	// repeat offenders differently.
	if d.SubjectKind == warden.TargetContent && d.Owner != "" {
		out = append(out, warden.Label{Entity: d.Owner, Label: "offender:" + d.Category, DecisionID: d.ID, CreatedAt: d.DecidedAt, ExpiresAt: d.EndsAt})
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
