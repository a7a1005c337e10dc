package engine

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/detect"
	"github.com/wardenhq/warden/engine/state"
)

// Crowd is what a cluster's crowd stage computes for one event: the values
// of the counters not keyed by the actor (keyed by an IP, a /24, a device,
// a target, a text …) and the detectors' features (lockstep, linked
// accounts, near-duplicate text, bot-likeness). These look across actors,
// so in a cluster partitioned by actor they are computed by one engine that
// sees every event in stream order (ObserveCrowd), and the actor's
// partition evaluates the event with them in place of its own (EvalCrowd):
// the verdict one engine seeing every event would give.
type Crowd struct {
	// Counters holds the crowd counters' values, by their order in the
	// rule set (RuleSet.CrowdCounters of them).
	Counters []float64
	Features detect.Features
}

// crowdPlans numbers the crowd counters and gives each plan the nodes the
// crowd stage computes: its crowd counters and the features they read.
// A crowd counter that reads a counter keyed by the actor, or a label a
// rule set, cannot be counted apart from the actor's partition; the rule
// set then records why (CheckCrowd), and only one engine can run it.
func (c *compiler) crowdPlans() {
	rs := c.rs
	var problems []string
	for _, nd := range rs.nodes {
		if nd.ctr == nil || nd.ctr.byActor {
			continue
		}
		nd.ctr.crowd = rs.nCrowd
		rs.nCrowd++
		seen := map[string]bool{}
		var walk func(n string)
		walk = func(n string) {
			if seen[n] {
				return
			}
			seen[n] = true
			dep := c.known[n]
			if dep == nil {
				return
			}
			switch {
			case dep.ctr != nil && dep.ctr.byActor:
				problems = append(problems, fmt.Sprintf("counter %q is not keyed by the actor but reads %q, which is", nd.name, n))
			case dep.labels:
				problems = append(problems, fmt.Sprintf("counter %q is not keyed by the actor but reads has_label (in %q), whose labels are the actor's partition's", nd.name, n))
			}
			for _, d := range dep.deps {
				walk(d)
			}
		}
		walk(nd.name)
	}
	if len(problems) > 0 {
		rs.crowdErr = errors.New("the rule set's crowd counters cannot be counted apart from the actors' partitions: " + strings.Join(problems, "; "))
	}
	plans := []*plan{rs.def}
	for _, p := range rs.plans {
		plans = append(plans, p)
	}
	for _, p := range plans {
		need := map[string]bool{}
		mark := c.marker(need)
		for _, nd := range p.nodes {
			if nd.ctr != nil && nd.ctr.crowd >= 0 {
				mark(nd.name)
			}
		}
		for _, nd := range p.nodes {
			if need[nd.name] {
				p.crowd = append(p.crowd, nd)
				p.crowdNeeds.or(nd.uses)
			}
		}
	}
}

// CrowdCounters returns how many of the set's counters are crowd counters:
// keyed by something other than the actor.
func (rs *RuleSet) CrowdCounters() int { return rs.nCrowd }

// CheckCrowd reports whether the set's crowd counters can be counted by a
// crowd stage apart from the actors' partitions: not when one of them
// reads a counter keyed by the actor or a label rules set.
func (rs *RuleSet) CheckCrowd() error { return rs.crowdErr }

// observeCrowd computes the crowd counters of ev's plan, counting ev in
// them, into out (indexed by crowd counter).
func (rs *RuleSet) observeCrowd(ev *warden.Event, st *state.Store, feats *detect.Features, out []float64) {
	p := rs.plans[ev.Type]
	if p == nil {
		p = rs.def
	}
	x := evaluators.Get().(*evaluator)
	defer evaluators.Put(x)
	x.reset(rs)
	env := &x.env
	env.fill(ev, p.crowdNeeds)
	if feats != nil {
		env.Detect = detectEnv(*feats)
	}
	for _, nd := range p.crowd {
		if nd.ctr != nil {
			v := x.counter(nd.ctr, ev, st, true)
			env.N[nd.idx] = v
			out[nd.ctr.crowd] = v
			continue
		}
		x.feature(nd) // a failed feature is its zero value, as in evaluate
	}
}

// ObserveCrowd counts ev in the crowd counters and the detectors and
// returns their values for it. It is a cluster's crowd stage: an engine
// that sees every event, in stream order, and keeps only this state (its
// counters keyed by the actor are never touched). Observing the same events
// in the same order after a restore gives the same values.
func (e *Engine) ObserveCrowd(ev *warden.Event) (Crowd, error) {
	rs := e.set.Load()
	if rs.crowdErr != nil {
		return Crowd{}, rs.crowdErr
	}
	var c Crowd
	if e.opts.Detectors != nil {
		c.Features = e.opts.Detectors.Observe(ev)
	}
	c.Counters = make([]float64, rs.nCrowd)
	rs.observeCrowd(ev, e.st, &c.Features, c.Counters)
	e.events.Add(1)
	e.maybeSweep(ev.Time, rs.maxWindow)
	return c, nil
}

// EvalCrowd is Eval with the crowd counters' values and the detectors'
// features taken from c, as the crowd stage computed them, in place of
// this engine's own: its detectors are not consulted and its crowd
// counters not kept. It fails when c does not fit the rule set.
func (e *Engine) EvalCrowd(ctx context.Context, ev *warden.Event, c *Crowd) (Result, error) {
	rs := e.set.Load()
	if err := rs.fits(c); err != nil {
		return Result{}, err
	}
	return e.evalWith(ctx, ev, e.opts.Budget, c, rs), nil
}

// fits checks that c carries a value for each of the set's crowd counters.
func (rs *RuleSet) fits(c *Crowd) error {
	if len(c.Counters) != rs.nCrowd {
		return fmt.Errorf("engine: the crowd stage sent %d crowd counter values and this rule set has %d", len(c.Counters), rs.nCrowd)
	}
	return nil
}

// EvaluateCrowd is EvalCrowd's verdict.
func (e *Engine) EvaluateCrowd(ctx context.Context, ev *warden.Event, c *Crowd) (warden.Verdict, error) {
	res, err := e.EvalCrowd(ctx, ev, c)
	return res.Verdict, err
}

// ReplayCrowd is Replay with the crowd stage's values, as EvalCrowd.
func (e *Engine) ReplayCrowd(ctx context.Context, ev *warden.Event, c *Crowd) error {
	rs := e.set.Load()
	if err := rs.fits(c); err != nil {
		return err
	}
	e.evalWith(ctx, ev, -1, c, rs)
	return nil
}

// crowdVersion starts an encoded Crowd.
const crowdVersion = 1

// Limits on a decoded Crowd, far above what a rule set or the detectors
// produce, so that a corrupt record cannot ask for much memory.
const (
	maxCrowdCounters = 1 << 14
	maxCrowdReasons  = 64
	maxCrowdReason   = 1 << 10
)

// MarshalBinary encodes c compactly and exactly (floats by their bits):
// the crowd stage sends it with each event.
func (c *Crowd) MarshalBinary() ([]byte, error) {
	if len(c.Counters) > maxCrowdCounters || len(c.Features.BotReasons) > maxCrowdReasons {
		return nil, errors.New("engine: crowd record too large")
	}
	f := &c.Features
	b := make([]byte, 0, 16+8*len(c.Counters)+64)
	b = append(b, crowdVersion)
	b = binary.AppendUvarint(b, uint64(len(c.Counters)))
	for _, v := range c.Counters {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(f.BotScore))
	b = binary.AppendUvarint(b, uint64(len(f.BotReasons)))
	for _, r := range f.BotReasons {
		if len(r) > maxCrowdReason {
			return nil, errors.New("engine: crowd record: a bot reason is too long")
		}
		b = binary.AppendUvarint(b, uint64(len(r)))
		b = append(b, r...)
	}
	b = binary.AppendVarint(b, int64(f.DupTextAccounts))
	b = binary.AppendVarint(b, int64(f.LockstepGroup))
	b = binary.AppendVarint(b, int64(f.LinkedAccounts))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(f.LinkedNewShare))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(f.ClusterAgeSeconds))
	known := byte(0)
	if f.BotKnown {
		known = 1
	}
	b = append(b, known)
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(f.DupTextClusterAgeSeconds))
	return b, nil
}

// UnmarshalBinary decodes what MarshalBinary encoded; anything else is an
// error and leaves c unchanged.
func (c *Crowd) UnmarshalBinary(b []byte) error {
	d := crowdDecoder{b: b}
	if d.byte() != crowdVersion {
		return errors.New("engine: not a crowd record of version 1")
	}
	var out Crowd
	n := d.uvarint()
	if n > maxCrowdCounters {
		return errors.New("engine: crowd record: too many counters")
	}
	if n > 0 {
		out.Counters = make([]float64, n)
	} else {
		out.Counters = []float64{}
	}
	for i := range out.Counters {
		out.Counters[i] = d.float()
	}
	f := &out.Features
	f.BotScore = d.float()
	if n := d.uvarint(); n > maxCrowdReasons {
		return errors.New("engine: crowd record: too many bot reasons")
	} else if n > 0 {
		f.BotReasons = make([]string, 0, n)
		for range n {
			l := d.uvarint()
			if l > maxCrowdReason {
				return errors.New("engine: crowd record: a bot reason is too long")
			}
			f.BotReasons = append(f.BotReasons, string(d.bytes(int(l))))
		}
	}
	f.DupTextAccounts = d.int()
	f.LockstepGroup = d.int()
	f.LinkedAccounts = d.int()
	f.LinkedNewShare = d.float()
	f.ClusterAgeSeconds = d.float()
	switch d.byte() {
	case 0:
	case 1:
		f.BotKnown = true
	default:
		d.fail()
	}
	f.DupTextClusterAgeSeconds = d.float()
	if d.err {
		return errors.New("engine: crowd record is truncated or malformed")
	}
	if len(d.b) > 0 {
		return errors.New("engine: crowd record has trailing bytes")
	}
	*c = out
	return nil
}

// crowdDecoder reads a crowd record; past the first problem every read
// gives zero and err stays set.
type crowdDecoder struct {
	b   []byte
	err bool
}

func (d *crowdDecoder) fail() { d.err, d.b = true, nil }

func (d *crowdDecoder) byte() byte {
	if len(d.b) < 1 {
		d.fail()
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *crowdDecoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *crowdDecoder) int() int {
	v, n := binary.Varint(d.b)
	if n <= 0 || v > math.MaxInt32 || v < math.MinInt32 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return int(v)
}

func (d *crowdDecoder) float() float64 {
	if len(d.b) < 8 {
		d.fail()
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(d.b))
	d.b = d.b[8:]
	return v
}

func (d *crowdDecoder) bytes(n int) []byte {
	if len(d.b) < n {
		d.fail()
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}
