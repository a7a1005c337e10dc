// Package enforce applies what rules ask for beyond a verdict: the engine's
// effects. Today that is labels on entities, which later events' rules read
// (has_label) beside the labels moderators' decisions set.
package enforce

import (
	"sync"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/engine"
)

// Labels holds labels that rules set, each until its TTL runs out in event
// time. It lives in memory: these labels are short-lived signals (a signup
// burst, a possibly compromised account), rebuilt by the rules as traffic
// continues; what a person decides is stored by the incident workflow. Safe
// for concurrent use; bounded by Max entities.
type Labels struct {
	mu  sync.RWMutex
	m   map[string]map[string]int64 // entity → label → expiry (unix µs; 0 = never)
	now func() time.Time
	// Max bounds how many entities are labelled at once; past it, expired
	// labels are swept, and if none were, the oldest-expiring go first.
	Max int
}

// NewLabels returns an empty set holding at most max entities.
func NewLabels(max int) *Labels {
	return &Labels{m: make(map[string]map[string]int64), now: time.Now, Max: max}
}

// Apply records the label effects of enforce-mode hits on ev. Shadow and
// sampled-out hits change nothing: that is what shadow means.
func (l *Labels) Apply(ev *warden.Event, effects []engine.Effect) {
	for _, fx := range effects {
		if fx.Kind != "label" || fx.Mode != warden.ModeEnforce || fx.Entity == "" || fx.Label == "" {
			continue
		}
		var exp int64
		if fx.TTL > 0 {
			exp = ev.Time.Add(fx.TTL).UnixMicro()
		}
		l.set(fx.Entity, fx.Label, exp)
	}
}

func (l *Labels) set(entity, label string, exp int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ls := l.m[entity]
	if ls == nil {
		if len(l.m) >= l.Max {
			l.sweep()
		}
		ls = make(map[string]int64, 1)
		l.m[entity] = ls
	}
	if old, ok := ls[label]; ok && (old == 0 || (exp != 0 && old > exp)) {
		return // an existing label that lasts longer stays
	}
	ls[label] = exp
}

// sweep drops expired labels; if the set is still full, it drops the
// entities whose labels expire first until a tenth of Max is free.
func (l *Labels) sweep() {
	now := l.now().UnixMicro()
	for e, ls := range l.m {
		for k, exp := range ls {
			if exp != 0 && exp <= now {
				delete(ls, k)
			}
		}
		if len(ls) == 0 {
			delete(l.m, e)
		}
	}
	for len(l.m) > l.Max-l.Max/10 {
		var victim string
		var soonest int64 = -1
		for e, ls := range l.m {
			for _, exp := range ls {
				if exp != 0 && (soonest < 0 || exp < soonest) {
					victim, soonest = e, exp
				}
			}
		}
		if soonest < 0 {
			return // only permanent labels left: keep them
		}
		delete(l.m, victim)
	}
}

// Has reports whether entity carries label now.
func (l *Labels) Has(entity, label string) bool {
	l.mu.RLock()
	exp, ok := l.m[entity][label]
	l.mu.RUnlock()
	return ok && (exp == 0 || exp > l.now().UnixMicro())
}

// Union answers has_label from several label sets: an entity has a label
// when any of them says so.
type Union []engine.Labels

// Has reports whether any set gives entity the label.
func (u Union) Has(entity, label string) bool {
	for _, l := range u {
		if l != nil && l.Has(entity, label) {
			return true
		}
	}
	return false
}
