package engine

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/expr-lang/expr/vm"
	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/detect"
	"github.com/wardenhq/warden/engine/state"
)

// Effect is something a rule asks to happen beyond the verdict, as data:
// enforcement applies it after evaluation (or not, for a shadow rule).
type Effect struct {
	Rule    string
	Version int
	Mode    string // the hit's mode: enforce, sampled or shadow
	Kind    string // "label"
	Entity  string
	Label   string
	TTL     time.Duration // 0 means no expiry
}

// Update is one counter change an evaluation asks for. Updates are applied
// after every rule has run, so all rules of an event see the same state.
type Update struct {
	spec  *state.Spec
	key   uint64
	value uint64
}

// Result is everything evaluating one event produced.
type Result struct {
	Verdict    warden.Verdict
	Effects    []Effect
	Updates    []Update
	RuleEvals  int  // rule expressions evaluated
	FailedOpen bool // the time budget ran out: the action is allow
	Errors     int  // rules that failed or panicked; they count as not matching
}

// evaluator holds the per-goroutine scratch space of one evaluation.
type evaluator struct {
	vm      vm.VM
	env     Env
	updates []Update
	buf     []byte
	partner partnerCtx
}

var evaluators = sync.Pool{New: func() any { return new(evaluator) }}

func (x *evaluator) reset(rs *RuleSet) {
	x.env.N = resize(x.env.N, rs.nN)
	x.env.B = resize(x.env.B, rs.nB)
	x.env.S = resize(x.env.S, rs.nS)
	x.updates = x.updates[:0]
	x.partner.min, x.partner.seen = TrustNone, x.partner.seen[:0]
	x.env.P = &x.partner
}

func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	s = s[:n]
	clear(s)
	return s
}

// hooks are what an evaluation reports to its engine; nil hooks are fine.
type hooks struct {
	// crowd, when set, gives the crowd counters' values (the crowd
	// stage's); they are neither read from nor counted in the store.
	crowd   *Crowd
	hit     func(r *rule)
	ruleErr func(r *rule, err error)
	// partners, when set, answers the partner functions instead of the
	// rule set's Partners (a fixture's listings).
	partners Partners
}

// evaluate is the core. With commit unset it is pure: it reads st without
// changing it, and the Result carries the verdict, the effects and the state
// updates for apply. With commit set, each counter's update is applied in
// the same locked step that reads it (one map access instead of two), and
// Result.Updates is empty; rules see the same values either way, since every
// counter is computed before any rule runs.
func (rs *RuleSet) evaluate(ctx context.Context, ev *warden.Event, st *state.Store, feats *detect.Features, budget time.Duration, commit bool, h hooks) Result {
	p := rs.plans[ev.Type]
	if p == nil {
		p = rs.def
	}
	x := evaluators.Get().(*evaluator)
	defer evaluators.Put(x)
	x.reset(rs)
	x.partner.override = h.partners
	env := &x.env
	env.fill(ev, p.needs)
	if feats != nil {
		env.Detect = detectEnv(*feats)
	}
	res := Result{Verdict: warden.Verdict{EventID: ev.ID, Hits: []warden.Hit{}}}
	var start time.Time
	if budget > 0 {
		start = time.Now()
	}
	for _, nd := range p.nodes {
		if nd.ctr != nil {
			if h.crowd != nil && nd.ctr.crowd >= 0 {
				// Counted by the crowd stage, which saw every event.
				env.N[nd.idx] = h.crowd.Counters[nd.ctr.crowd]
				continue
			}
			env.N[nd.idx] = x.counter(nd.ctr, ev, st, commit)
			continue
		}
		if !x.feature(nd) {
			res.Errors++
		}
	}
	score := 1.0
	for i, r := range p.rules {
		if budget > 0 && i&3 == 3 && time.Since(start) > budget || i&15 == 15 && ctx.Err() != nil {
			res.FailedOpen = true
			break
		}
		res.RuleEvals++
		x.partner.seen = x.partner.seen[:0]
		matched, err := x.runBool(r.prog)
		if err != nil {
			res.Errors++
			if h.ruleErr != nil {
				h.ruleErr(r, err)
			}
			continue
		}
		if !matched {
			continue
		}
		action := r.action
		var partners []string
		if len(x.partner.seen) > 0 {
			partners = partnersOf(x.partner.seen)
			// A partner's listing can raise the score but not block
			// alone: a block stands only if the rule still matches with
			// low and medium-trust partners' listings ignored.
			if action == warden.ActionBlock && onlyBelowHigh(x.partner.seen) {
				x.partner.min = TrustHigh
				still, err := x.runBool(r.prog)
				x.partner.min = TrustNone
				if err != nil || !still {
					action = warden.ActionReview
				}
			}
		}
		mode := r.modeStr
		enforced := r.mode == modeEnforce
		if r.mode == modeSampled {
			mode = warden.ModeShadow
			if state.Mix(state.Hash(r.seed, ev.Actor))%10000 < r.sample {
				mode, enforced = warden.ModeSampled, true
			}
		}
		res.Verdict.Hits = append(res.Verdict.Hits, warden.Hit{
			Rule: r.name, Version: r.version, Action: action, Mode: mode, Reason: x.reason(r), Category: r.category, Case: r.caseKind,
			Partners: partners,
		})
		if enforced {
			if action > res.Verdict.Action {
				res.Verdict.Action = action
			}
			score *= 1 - r.weight
		}
		for _, l := range r.labels {
			ent := x.str(l.entity)
			if ent == "" || slices.ContainsFunc(res.Effects, func(e Effect) bool { return e.Entity == ent && e.Label == l.label }) {
				continue
			}
			res.Effects = append(res.Effects, Effect{Rule: r.name, Version: r.version, Mode: mode, Kind: "label", Entity: ent, Label: l.label, TTL: l.ttl})
		}
		if h.hit != nil {
			h.hit(r)
		}
	}
	// The bot-likeness model is a weak prior: alone it can lift the score
	// to at most one half; rules in force decide the rest.
	score *= 1 - env.Detect.BotScore/2
	res.Verdict.Score = math.Round((1-score)*1000) / 1000
	if res.FailedOpen {
		res.Verdict.Action = warden.ActionAllow
	}
	if len(x.updates) > 0 {
		res.Updates = append([]Update(nil), x.updates...)
	}
	return res
}

// feature computes the feature nd into the environment; false means its
// expression failed (it is then its type's zero value).
func (x *evaluator) feature(nd *node) bool {
	env := &x.env
	if p := nd.prog; p.ok {
		switch nd.kind {
		case kindNum:
			env.N[nd.idx] = p.fast.n(env)
		case kindBool:
			env.B[nd.idx] = p.fast.b(env)
		case kindStr:
			env.S[nd.idx] = p.fast.s(env)
		}
		return true
	}
	v, err := x.run(nd.prog)
	if err != nil {
		return false
	}
	switch nd.kind {
	case kindNum:
		env.N[nd.idx] = toFloat(v)
	case kindBool:
		env.B[nd.idx], _ = v.(bool)
	case kindStr:
		env.S[nd.idx], _ = v.(string)
	}
	return true
}

// apply records a result's state updates.
func (r *Result) apply(st *state.Store, t time.Time) {
	for _, u := range r.Updates {
		st.Add(u.spec, u.key, t, u.value)
	}
}

func toFloat(v any) float64 {
	switch v := v.(type) {
	case float64:
		return v
	case int:
		return float64(v)
	case int64:
		return float64(v)
	case float32:
		return float64(v)
	case int32:
		return float64(v)
	case uint64:
		return float64(v)
	}
	return 0
}

// run evaluates one program on the virtual machine, containing any panic.
func (x *evaluator) run(p *program) (v any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return x.vm.Run(p.vm, &x.env)
}

// runBool evaluates a boolean program, containing any panic: a rule's
// closures may call a Labels implementation, which may panic.
func (x *evaluator) runBool(p *program) (v bool, err error) {
	if !p.ok {
		r, err := x.run(p)
		b, _ := r.(bool)
		return b, err
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return p.fast.b(&x.env), nil
}

func (x *evaluator) str(f valueFn) string {
	if f.field != nil {
		return f.field(&x.env)
	}
	if f.prog.ok && f.prog.fast.k == kindStr {
		return f.prog.fast.s(&x.env)
	}
	v, err := x.run(f.prog)
	if err != nil || v == nil {
		return ""
	}
	switch v := v.(type) {
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	}
	return fmt.Sprint(v)
}

// counter computes a counter's value for this event, including the event
// itself when the counter counts events of this type that pass its where,
// and queues the matching update.
func (x *evaluator) counter(ct *counter, ev *warden.Event, st *state.Store, commit bool) float64 {
	h := ct.seed
	for i, k := range ct.key {
		s := x.str(k)
		if s == "" {
			// No key (say, no IP on the event): nothing to count by.
			return 0
		}
		if i > 0 {
			h = state.Hash(h, "\x00")
		}
		h = state.Hash(h, s)
	}
	key := state.Mix(h)
	add := ct.on == nil || ct.on[ev.Type]
	if add && ct.where != nil {
		v, err := x.runBool(ct.where)
		add = err == nil && v
	}
	var val uint64
	if add && ct.spec.Kind == state.Distinct {
		s := x.str(ct.of)
		if s == "" {
			add = false
		} else {
			val = state.Mix(state.Hash(state.Seed, s))
		}
	}
	v := st.Observe(&ct.spec, key, ev.Time, add, val, commit)
	if add && !commit {
		x.updates = append(x.updates, Update{spec: &ct.spec, key: key, value: val})
	}
	return v
}

func (x *evaluator) reason(r *rule) string {
	b := x.buf[:0]
	for _, p := range r.reason {
		if p.prog == nil {
			b = append(b, p.lit...)
			continue
		}
		if f := p.prog.fast; p.prog.ok {
			switch f.k {
			case kindNum:
				b = appendValue(b, f.n(&x.env))
			case kindBool:
				b = strconv.AppendBool(b, f.b(&x.env))
			case kindStr:
				b = append(b, f.s(&x.env)...)
			}
			continue
		}
		v, err := x.run(p.prog)
		if err != nil {
			b = append(b, '?')
			continue
		}
		b = appendValue(b, v)
	}
	x.buf = b
	return string(b)
}

func appendValue(b []byte, v any) []byte {
	switch v := v.(type) {
	case string:
		return append(b, v...)
	case bool:
		return strconv.AppendBool(b, v)
	case int:
		return strconv.AppendInt(b, int64(v), 10)
	case float64:
		switch {
		case math.IsInf(v, 1):
			return append(b, "∞"...)
		case math.IsInf(v, -1):
			return append(b, "-∞"...)
		case math.Abs(v) >= 100:
			return strconv.AppendFloat(b, math.Round(v), 'f', -1, 64)
		}
		return strconv.AppendFloat(b, math.Round(v*100)/100, 'f', -1, 64)
	case nil:
		return b
	}
	return append(b, strings.TrimSpace(fmt.Sprint(v))...)
}
