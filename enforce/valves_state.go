package enforce

import (
	"encoding/gob"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/engine"
	"github.com/wardenhq/warden/engine/state"
)

// restrictionRule names the hit the engine gives a restricted account's
// events: the account's standing, not a rule, so no valve holds it.
const restrictionRule = "account_restricted"

// Valves are the safety valves between the rules and what their hits do:
// daily quotas and circuit breakers per rule, a hold-out group per rule,
// and jittered delays before the suspensions and bans of a ladder take
// effect. They wrap the ladder: Escalate is the engine's hook for both.
//
// Their state (quota counts, breakers, pending restrictions) and the
// ladder's strikes are engine Parts: rebuilt from the event log, saved in
// the engine's snapshots, in event time, so a replay gives the same
// verdicts. Re-arms are kept apart (SetRearms): an admin's act, stored,
// applied at the event time it names. Safe for concurrent use.
type Valves struct {
	set    *ValveSet
	ladder *Ladder
	seed   uint64
	window int64 // µs
	base   int64 // µs

	mu     sync.Mutex
	st     valveState
	rearms map[string][]int64 // rule → re-arm event times, ascending
	// Max bounds the pending restrictions; past it a restriction is not
	// delayed (rather than lost).
	Max int
	// OnTrip, when set, is called (outside the lock) for each breaker
	// that trips: the admin alert.
	OnTrip func(Breaker)
}

// valveState is what a snapshot of the valves holds.
type valveState struct {
	Quota    map[quotaKey]int // effects counted
	QuotaDay int64            // the newest day counted
	Total    traffic
	Breakers map[string]*breaker
	Pending  map[string]pending // account → its delayed restriction
	Last     int64              // the newest event time seen, unix µs
}

// quotaKey is a rule's UTC day (days since 1970).
type quotaKey struct {
	Rule string
	Day  int64
}

// pending is a ladder's restriction waiting for its delay.
type pending struct {
	Policy, Rule, Step string
	Strike             int
	RuleVersion        int // the version of Rule whose hit was the strike
	Duration           time.Duration
	At, Due            int64 // unix µs
}

// Breaker is a tripped breaker as the console and the API show it.
type Breaker struct {
	Rule      string        `json:"rule"`
	TrippedAt warden.Micros `json:"tripped_at"`
	Share     float64       `json:"share"`
	Usual     float64       `json:"usual"`
	Reason    string        `json:"reason"`
}

// Rearm is an admin's re-arm of a rule's breaker, applied from event time
// At on.
type Rearm struct {
	Rule string
	At   warden.Micros
}

// NewValves returns the valves of set around ladder (which may have no
// policies), holding at most max pending restrictions.
func NewValves(set *ValveSet, ladder *Ladder, max int) *Valves {
	if set == nil {
		d := DefaultValves()
		set = &d
	}
	if ladder == nil {
		ladder = NewLadder(nil, max)
	}
	v := &Valves{set: set, ladder: ladder, seed: state.Hash(state.Seed, "valves\x00"+set.Seed),
		window: set.Window.Microseconds(), base: set.Baseline.Microseconds(), rearms: map[string][]int64{}, Max: max}
	v.st = v.empty()
	return v
}

func (v *Valves) empty() valveState {
	return valveState{Quota: map[quotaKey]int{}, Total: newTraffic(v.window, v.base), Breakers: map[string]*breaker{}, Pending: map[string]pending{}}
}

// Set returns the valves' declaration.
func (v *Valves) Set() *ValveSet { return v.set }

// acting reports whether h's action counts in the verdict: a rule in
// enforce mode or sampled in.
func acting(h *warden.Hit) bool { return h.Mode == warden.ModeEnforce || h.Mode == warden.ModeSampled }

// valved reports whether h is a rule's hit the valves apply to (not the
// account's standing, not a ladder step).
func valved(h *warden.Hit) bool {
	return acting(h) && h.Action != warden.ActionAllow && h.Rule != restrictionRule && !strings.HasPrefix(h.Rule, LadderRule)
}

// Escalate is the engine's hook: the valves hold rules' hits (hold-out,
// breaker, quota), the ladder counts the strikes of the hits not held, and
// the valves delay or cap the suspensions and bans the strikes reach, and
// put in force the delayed ones now due.
func (v *Valves) Escalate(ev *warden.Event, res *engine.Result, tagsOf func(rule string) []string) {
	now := ev.Time.UnixMicro()
	var trips []Breaker
	v.mu.Lock()
	st := &v.st
	st.Last = max(st.Last, now)
	st.Total.add(now)
	day := ev.Time.UTC().Unix() / 86400
	if day > st.QuotaDay {
		v.pruneQuota(day)
	}
	hits := res.Verdict.Hits
	var held []bool       // by hit index: held by a valve
	var counted []string  // rules whose quota this event counted
	var silenced []string // rules whose label effects do not apply
	for i := range hits {
		h := &hits[i]
		if !valved(h) {
			continue
		}
		rv := v.set.For(h.Rule)
		why, trip := v.holdFor(ev, h, rv, now, day, &counted)
		if trip != nil {
			trips = append(trips, *trip)
		}
		if why == "" {
			continue
		}
		if held == nil {
			held = make([]bool, len(hits))
		}
		held[i] = true
		silenced = append(silenced, h.Rule)
		h.Reason += "; " + why
	}
	var steps []ladderStep
	if ev.Actor != "" {
		steps = v.ladder.steps(ev, res, tagsOf, func(i int) bool { return held != nil && held[i] })
	}
	for k := range steps {
		v.restrict(ev, &steps[k], now, day, counted)
		res.Verdict.Hits = append(res.Verdict.Hits, steps[k].hit)
	}
	if p, ok := st.Pending[ev.Actor]; ok && ev.Actor != "" && now >= p.Due {
		delete(st.Pending, ev.Actor)
		res.Verdict.Hits = append(res.Verdict.Hits, v.inForce(p))
	}
	v.mu.Unlock()
	if held != nil || len(steps) > 0 || len(res.Verdict.Hits) != len(hits) {
		v.recompute(res, silenced)
	}
	if v.OnTrip != nil {
		for _, b := range trips {
			v.OnTrip(b)
		}
	}
}

// holdFor applies h's rule's valves to h: it counts the hit in the
// rule's breaker, and says why it is held ("" if not): in the hold-out,
// by a tripped breaker, or past the day's quota. A breaker that trips
// on this hit is returned.
func (v *Valves) holdFor(ev *warden.Event, h *warden.Hit, rv *RuleValves, now, day int64, counted *[]string) (string, *Breaker) {
	var trip *Breaker
	var b *breaker
	if rv.BreakerFactor > 0 {
		b = v.st.Breakers[h.Rule]
		if b == nil {
			b = &breaker{Hits: newTraffic(v.window, v.base)}
			v.st.Breakers[h.Rule] = b
		}
		b.Hits.add(now)
		v.applyRearm(h.Rule, b, now, rv)
		if b.TrippedAt == 0 {
			if share, usual, ok := b.shares(&v.st.Total, now, rv, v.base); ok && share >= rv.BreakerFactor*usual {
				b.TrippedAt, b.Share, b.Usual = now, share, usual
				trip = &Breaker{Rule: h.Rule, TrippedAt: warden.Micros(now), Share: share, Usual: usual, Reason: breakerReason(b)}
			}
		}
	}
	if rv.Holdout > 0 && ev.Actor != "" && v.inHoldout(ev.Actor, h.Rule, rv.Holdout) {
		h.Mode = warden.ModeHoldout
		return "in the rule's hold-out group (" + pct(rv.Holdout) + " of actors): scored, not acted on", trip
	}
	if b != nil && b.TrippedAt != 0 {
		h.Action = warden.ActionReview
		return "held to review by its breaker: " + breakerReason(b), trip
	}
	if rv.Quota > 0 && slices.Contains(rv.QuotaEffects, h.Action.String()) {
		if !v.takeQuota(h.Rule, rv, day) {
			h.Action = warden.ActionReview
			return fmt.Sprintf("held to review: the rule's quota of %d reached today (UTC)", rv.Quota), trip
		}
		*counted = append(*counted, h.Rule)
	}
	return "", trip
}

func breakerReason(b *breaker) string {
	return fmt.Sprintf("%s of events vs %s usual, tripped %s; an admin re-arms it", pct(b.Share), pct(b.Usual),
		time.UnixMicro(b.TrippedAt).UTC().Format(time.RFC3339))
}

// applyRearm re-arms b if an admin's re-arm falls after its trip and at
// or before now.
func (v *Valves) applyRearm(rule string, b *breaker, now int64, rv *RuleValves) {
	if b.TrippedAt == 0 {
		return
	}
	for _, at := range v.rearms[rule] {
		if at > b.TrippedAt && at <= now {
			share, _, _ := b.shares(&v.st.Total, now, rv, v.base)
			b.TrippedAt, b.ArmedAt, b.ArmedShare = 0, at, share
			return
		}
	}
}

// takeQuota counts one effect of rule on day, if the quota allows it.
func (v *Valves) takeQuota(rule string, rv *RuleValves, day int64) bool {
	k := quotaKey{rule, day}
	if v.st.Quota[k] >= rv.Quota {
		return false
	}
	v.st.Quota[k]++
	return true
}

// pruneQuota starts day: counts of days before the one before go.
func (v *Valves) pruneQuota(day int64) {
	v.st.QuotaDay = day
	for k := range v.st.Quota {
		if k.Day < day-1 {
			delete(v.st.Quota, k)
		}
	}
}

// inHoldout draws actor into rule's hold-out group with probability
// fraction: a seeded hash, the same on every evaluation and replay.
func (v *Valves) inHoldout(actor, rule string, fraction float64) bool {
	h := state.Mix(drawHash(v.seed^holdoutSalt, actor, rule))
	return float64(h>>11)/(1<<53) < fraction
}

// Salts keep the hold-out draw and the delays apart.
const (
	holdoutSalt = 0x686f6c646f7574 // "holdout"
	jitterSalt  = 0x6a6974746572   // "jitter"
)

// drawHash hashes an actor and a rule, apart ("ab"+"c" is not "a"+"bc").
func drawHash(seed uint64, actor, rule string) uint64 {
	return state.Hash(state.Hash(state.Hash(seed, actor), "\x00"), rule)
}

// Jitter is the delay before a suspension or ban rule's strike reached
// takes effect on account: seeded per account and rule, within the rule's
// range, in whole seconds.
func (v *Valves) Jitter(account, rule string) time.Duration {
	rv := v.set.For(rule)
	if rv.JitterMax <= 0 {
		return 0
	}
	span := uint64((rv.JitterMax-rv.JitterMin)/time.Second) + 1
	h := state.Mix(drawHash(v.seed^jitterSalt, account, rule))
	return rv.JitterMin + time.Duration(h%span)*time.Second
}

// restrict applies the valves to a ladder step: a suspension or ban past
// its rule's quota is held to review; one with a delay waits, pending,
// for the account's first event after it.
func (v *Valves) restrict(ev *warden.Event, s *ladderStep, now, day int64, counted []string) {
	x := s.hit.Escalation
	if x == nil || (x.Step != StepSuspend && x.Step != StepBan) {
		return
	}
	rv := v.set.For(s.rule)
	if rv.Quota > 0 && slices.Contains(rv.QuotaEffects, x.Step) && !slices.Contains(counted, s.rule) && !v.takeQuota(s.rule, rv, day) {
		s.hit.Action, s.hit.Escalation, s.hit.Case = warden.ActionReview, nil, warden.CaseAccount
		s.hit.Reason += fmt.Sprintf("; held to review: rule %[2]s's quota of %[1]d reached today (UTC)", rv.Quota, s.rule)
		return
	}
	delay := v.Jitter(ev.Actor, s.rule)
	if delay <= 0 || len(v.st.Pending) >= v.Max {
		return
	}
	due := now + delay.Microseconds()
	p := pending{Policy: x.Policy, Rule: s.rule, Step: x.Step, Strike: x.Strike, RuleVersion: x.RuleVersion, At: now, Due: due}
	if x.Duration != "" {
		p.Duration, _ = time.ParseDuration(x.Duration)
	}
	if old, ok := v.st.Pending[ev.Actor]; ok {
		p.Due, p.At = old.Due, old.At // a later strike's step replaces the pending one, not its time
	}
	v.st.Pending[ev.Actor] = p
	s.hit.Action, s.hit.Escalation, s.hit.Case = warden.ActionAllow, nil, warden.CaseNone
	s.hit.Reason += fmt.Sprintf("; pending: takes effect on the account's next event after %s (a delay of %s)",
		time.UnixMicro(p.Due).UTC().Format(time.RFC3339), time.Duration(p.Due-p.At)*time.Microsecond)
}

// inForce is the hit of a pending restriction whose delay has run: the
// ladder's step, as it would have been without the delay.
func (v *Valves) inForce(p pending) warden.Hit {
	pol := Policy{Name: p.Policy, Category: warden.CategoryOther}
	if i := slices.IndexFunc(v.ladder.policies, func(q Policy) bool { return q.Name == p.Policy }); i >= 0 {
		pol = v.ladder.policies[i]
	}
	h := stepHit(&pol, p.Strike, p.Rule, Step{Action: p.Step, Duration: p.Duration})
	h.Escalation.RuleVersion = p.RuleVersion
	h.Reason += fmt.Sprintf(", pending since %s, in force after its delay", time.UnixMicro(p.At).UTC().Format(time.RFC3339))
	return h
}

// recompute sets the verdict's action from the hits that act, and keeps
// the label effects of rules held from applying.
func (v *Valves) recompute(res *engine.Result, silenced []string) {
	a := warden.ActionAllow
	for i := range res.Verdict.Hits {
		if h := &res.Verdict.Hits[i]; acting(h) && h.Action > a {
			a = h.Action
		}
	}
	res.Verdict.Action = a
	for i := range res.Effects {
		if slices.Contains(silenced, res.Effects[i].Rule) {
			res.Effects[i].Mode = warden.ModeHoldout
		}
	}
}

// Breakers returns the tripped breakers (not yet re-armed), by rule.
func (v *Valves) Breakers() []Breaker {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []Breaker
	for rule, b := range v.st.Breakers {
		if b.TrippedAt == 0 || slices.ContainsFunc(v.rearms[rule], func(at int64) bool { return at > b.TrippedAt }) {
			continue
		}
		out = append(out, Breaker{Rule: rule, TrippedAt: warden.Micros(b.TrippedAt), Share: b.Share, Usual: b.Usual, Reason: breakerReason(b)})
	}
	slices.SortFunc(out, func(a, b Breaker) int { return strings.Compare(a.Rule, b.Rule) })
	return out
}

// PrepareRearm returns the re-arm of rule's tripped breaker, at the event
// time just past the newest event seen: store it, then AddRearm it. A
// breaker not tripped is an error.
func (v *Valves) PrepareRearm(rule string) (Rearm, error) {
	for _, b := range v.Breakers() {
		if b.Rule == rule {
			v.mu.Lock()
			at := max(v.st.Last, int64(b.TrippedAt)) + 1
			v.mu.Unlock()
			return Rearm{Rule: rule, At: warden.Micros(at)}, nil
		}
	}
	return Rearm{}, warden.Errorf(warden.ECONFLICT, "the breaker of rule %q is not tripped", rule)
}

// AddRearm applies a stored re-arm from its event time on.
func (v *Valves) AddRearm(r Rearm) {
	v.mu.Lock()
	defer v.mu.Unlock()
	at := v.rearms[r.Rule]
	if i, found := slices.BinarySearch(at, int64(r.At)); !found {
		v.rearms[r.Rule] = slices.Insert(at, i, int64(r.At))
	}
}

// SetRearms replaces the re-arms with the stored ones.
func (v *Valves) SetRearms(rs []Rearm) {
	v.mu.Lock()
	v.rearms = map[string][]int64{}
	v.mu.Unlock()
	for _, r := range rs {
		v.AddRearm(r)
	}
}

// Pending is a suspension or ban waiting for its delay, for the account's
// standing.
type Pending struct {
	Policy string
	Rule   string
	Step   string // suspend or ban
	At     warden.Micros
	Due    warden.Micros
}

// PendingOf returns account's delayed restriction, if any.
func (v *Valves) PendingOf(account string) (Pending, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	p, ok := v.st.Pending[account]
	return Pending{Policy: p.Policy, Rule: p.Rule, Step: p.Step, At: warden.Micros(p.At), Due: warden.Micros(p.Due)}, ok
}

// WriteState writes the valves' state, for the engine's snapshots.
func (v *Valves) WriteState(w io.Writer) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	return gob.NewEncoder(w).Encode(&v.st)
}

// ReadState replaces the valves' state with what WriteState wrote.
func (v *Valves) ReadState(r io.Reader) error {
	st := v.empty()
	if err := gob.NewDecoder(r).Decode(&st); err != nil {
		v.Reset()
		return fmt.Errorf("valves snapshot: %w", err)
	}
	if st.Quota == nil {
		st.Quota = map[quotaKey]int{}
	}
	if st.Breakers == nil {
		st.Breakers = map[string]*breaker{}
	}
	if st.Pending == nil {
		st.Pending = map[string]pending{}
	}
	if len(st.Total.Recent.Counts) != windowBuckets || len(st.Total.Base.Counts) != baseBuckets {
		v.Reset()
		return fmt.Errorf("valves snapshot: traffic windows of %d and %d buckets, want %d and %d", len(st.Total.Recent.Counts), len(st.Total.Base.Counts), windowBuckets, baseBuckets)
	}
	for rule, b := range st.Breakers {
		if b == nil || len(b.Hits.Recent.Counts) != windowBuckets || len(b.Hits.Base.Counts) != baseBuckets {
			v.Reset()
			return fmt.Errorf("valves snapshot: the breaker of %q is malformed", rule)
		}
	}
	if st.Total.Recent.Width != max(v.window/windowBuckets, 1) || st.Total.Base.Width != max(v.base/baseBuckets, 1) {
		// the breakers' windows were declared otherwise: their traffic
		// starts afresh, their trips stay
		st.Total = newTraffic(v.window, v.base)
		for _, b := range st.Breakers {
			b.Hits = newTraffic(v.window, v.base)
		}
	}
	v.mu.Lock()
	v.st = st
	v.mu.Unlock()
	return nil
}

// Reset drops the valves' state (not the re-arms, which are stored).
func (v *Valves) Reset() {
	v.mu.Lock()
	v.st = v.empty()
	v.mu.Unlock()
}
