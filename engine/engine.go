// Package engine is Warden's rule engine: it compiles rule sets (YAML files
// with expr-lang expressions over a typed environment) into one plan per
// event type, evaluates each event against event-time counters kept in
// package state, and answers with a verdict (CONTRACT §2). Rule sets are
// checked before they go live and hot-reloaded from their directory; a bad
// set is rejected and the running one kept.
package engine

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/detect"
	"github.com/wardenhq/warden/engine/state"
	"github.com/wardenhq/warden/rules"
)

// Options configure an Engine. The zero value runs the built-in rule pack
// with no snapshots, no metrics and no detectors.
type Options struct {
	RulesDir   string // rule set directory; "" means the built-in pack (no reload)
	Logger     *slog.Logger
	Registerer prometheus.Registerer // nil means no metrics are registered
	Detectors  *detect.Set           // observed once per event when set
	Labels     Labels                // answers has_label; nil means no labels
	Partners   Partners              // answers partner_listed; nil means no partner lists
	// Standing answers whether an account is under a moderator's measure;
	// such an account's events get the measure's action and a hit naming
	// the decision, whatever the rules say. nil: no account is.
	Standing Standing
	// Parts is evaluation state kept outside the engine that its
	// snapshots carry beside the counters (the labels rules set): what
	// OnEffects changes. The detectors are always a part when set.
	Parts map[string]Part
	// Budget is the per-event time budget; past it the verdict fails open
	// (allow) and warden_engine_budget_exceeded_total counts it. 0 means
	// 10ms; negative means no budget (replays use none, to be repeatable).
	Budget time.Duration
	// Poll is how often Run checks RulesDir for changes; 0 means 2s.
	Poll time.Duration
	// OnEffects, when set, receives each event's effects after evaluation.
	// It is for state later rules read (labels), which Parts snapshot;
	// consequences outside Warden happen only once the event is durable,
	// downstream of ingest.
	OnEffects func(ev *warden.Event, effects []Effect)
	// Escalate, when set, may change a verdict after the rules and the
	// account's standing: an enforcement ladder counting strikes, safety
	// valves holding a rule's actions. It sees every event that did not
	// fail open, with hits or not (a breaker counts traffic). tagsOf
	// gives a rule's tags in the rule set that evaluated the event. Its
	// state is a Part like OnEffects'.
	Escalate func(ev *warden.Event, res *Result, tagsOf func(rule string) []string)
}

// Standing tells the measure in force on an account, if any.
type Standing interface {
	Restriction(account string) (warden.Restriction, bool)
}

// restrictionRule names the hit a restricted account's events get.
const restrictionRule = warden.RuleRestricted

// applyStanding adds the hit of the measure in force on ev's actor.
func (e *Engine) applyStanding(ev *warden.Event, res *Result) {
	if e.opts.Standing == nil || ev.Actor == "" {
		return
	}
	r, ok := e.opts.Standing.Restriction(ev.Actor)
	if !ok {
		return
	}
	reason := fmt.Sprintf("account %s by decision %s on %s", r.Measure, r.DecisionID, r.Since.Time().UTC().Format("2006-01-02"))
	if r.Until != 0 {
		reason += ", until " + r.Until.Time().UTC().Format(time.RFC3339)
	}
	res.Verdict.Hits = append([]warden.Hit{{Rule: restrictionRule, Version: 1, Action: r.Action, Mode: warden.ModeEnforce, Reason: reason}}, res.Verdict.Hits...)
	if r.Action > res.Verdict.Action {
		res.Verdict.Action = r.Action
	}
	res.Verdict.Score = max(res.Verdict.Score, 1)
}

// Engine evaluates events against the current rule set. It implements
// warden.Engine and is safe for concurrent use.
type Engine struct {
	opts    Options
	log     *slog.Logger
	set     atomic.Pointer[RuleSet]
	st      *state.Store
	loadErr atomic.Pointer[loadError]
	m       *metrics

	mu      sync.Mutex // guards stats, finger, pending, modes
	stats   map[string]*ruleStats
	modes   map[string]string // mode overrides by rule name
	finger  uint64            // fingerprint of the rules directory last compiled
	pending uint64            // a changed fingerprint seen once, not yet compiled

	lastSweep atomic.Int64  // event-time unix milliseconds of the last sweep
	sweepNext atomic.Uint64 // the shard the next sweep takes
	events    atomic.Uint64
	evals     atomic.Uint64
}

type loadError struct{ err error }

// ruleStats counts a rule's hits since the engine started, and per wall
// clock minute over the last hour for "rules that fire most".
type ruleStats struct {
	hits    atomic.Uint64
	minutes [60]atomic.Uint64
	stamp   [60]atomic.Int64
	counter prometheus.Counter
}

func (s *ruleStats) hit(now int64) {
	s.hits.Add(1)
	m := now / 60
	slot := m % 60
	if s.stamp[slot].Load() != m {
		s.stamp[slot].Store(m)
		s.minutes[slot].Store(0)
	}
	s.minutes[slot].Add(1)
	if s.counter != nil {
		s.counter.Inc()
	}
}

func (s *ruleStats) recent(now int64) uint64 {
	m := now / 60
	var n uint64
	for i := range s.minutes {
		if st := s.stamp[i].Load(); st > m-60 && st <= m {
			n += s.minutes[i].Load()
		}
	}
	return n
}

// Open compiles the rule set and returns a ready Engine with empty state
// (ingest restores it from a snapshot and the log's tail). A rule set with errors is an error here: at
// start there is no old set to keep running.
func Open(opts Options) (*Engine, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Budget == 0 {
		opts.Budget = 10 * time.Millisecond
	}
	if opts.Poll <= 0 {
		opts.Poll = 2 * time.Second
	}
	e := &Engine{opts: opts, log: opts.Logger, st: state.New(), stats: map[string]*ruleStats{}}
	e.m = newMetrics(opts.Registerer, e)
	rs, finger, err := e.compile()
	if err != nil {
		return nil, err
	}
	e.finger = finger
	e.publish(rs)
	return e, nil
}

func (e *Engine) rulesFS() fs.FS {
	if e.opts.RulesDir == "" {
		return rules.FS
	}
	return os.DirFS(e.opts.RulesDir)
}

func (e *Engine) compile() (*RuleSet, uint64, error) {
	finger, err := fingerprint(e.opts.RulesDir)
	if err != nil {
		return nil, 0, err
	}
	rs, err := Compile(e.rulesFS(), e.compileOptions(nil))
	return rs, finger, err
}

// fingerprint hashes the names, sizes and modification times of the files
// under dir; "" (the embedded pack) never changes.
func fingerprint(dir string) (uint64, error) {
	if dir == "" {
		return 0, nil
	}
	h := fnv.New64a()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00%d\x00", p, info.Size(), info.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("reading rules directory: %w", err)
	}
	return h.Sum64(), nil
}

// publish makes rs the live rule set, carrying hit counts over by rule name.
func (e *Engine) publish(rs *RuleSet) {
	e.mu.Lock()
	for _, r := range rs.rules {
		s := e.stats[r.name]
		if s == nil {
			s = &ruleStats{}
			if e.m != nil {
				s.counter = e.m.hits.WithLabelValues(r.name)
			}
			e.stats[r.name] = s
		}
		r.stats = s
	}
	e.mu.Unlock()
	e.set.Store(rs)
	e.loadErr.Store(nil)
}

// compileOptions are the options every compile of the live set uses, with
// extra mode overrides on top of the engine's.
func (e *Engine) compileOptions(extra map[string]string) CompileOptions {
	e.mu.Lock()
	modes := make(map[string]string, len(e.modes)+len(extra))
	for k, v := range e.modes {
		modes[k] = v
	}
	e.mu.Unlock()
	for k, v := range extra {
		modes[k] = v
	}
	return CompileOptions{Labels: e.opts.Labels, Partners: e.opts.Partners, Modes: modes}
}

// SetModes replaces the engine's mode overrides (rule name → mode) and
// recompiles the rule set with them; on an error (an unknown mode) the
// running set and the previous overrides stay.
func (e *Engine) SetModes(modes map[string]string) error {
	e.mu.Lock()
	old := e.modes
	e.modes = modes
	e.mu.Unlock()
	rs, err := Compile(e.rulesFS(), e.compileOptions(nil))
	if err != nil {
		e.mu.Lock()
		e.modes = old
		e.mu.Unlock()
		return err
	}
	e.publish(rs)
	return nil
}

// PreviewMode replays events (in event-time order) through the live rule
// set and through the same set with rule in mode, each from a fresh state
// with fresh detectors, and reports the verdicts that would change.
func (e *Engine) PreviewMode(ctx context.Context, name, mode string, events []warden.Event) (DiffReport, error) {
	known := false
	for _, r := range e.set.Load().rules {
		known = known || r.name == name
	}
	if !known {
		return DiffReport{}, warden.Errorf(warden.ENOTFOUND, "no rule %q in the running set", name)
	}
	cand, err := Compile(e.rulesFS(), e.compileOptions(map[string]string{name: mode}))
	if err != nil {
		return DiffReport{}, err
	}
	base, err := Compile(e.rulesFS(), e.compileOptions(nil))
	if err != nil {
		return DiffReport{}, err
	}
	return Diff(ctx, base, cand, sortByTime(events), detect.New(detect.Config{}), nil)
}

// Reload recompiles the rules directory once a change has held still for
// one call (so a file caught half-written by an editor is not loaded). A
// set with errors, or with no rules at all, is rejected: the running set
// stays, and LoadError returns why until a good set loads.
func (e *Engine) Reload() error {
	if e.opts.RulesDir == "" {
		return nil
	}
	finger, err := fingerprint(e.opts.RulesDir)
	if err != nil {
		e.loadErr.Store(&loadError{err})
		return err
	}
	e.mu.Lock()
	if finger == e.finger || finger != e.pending {
		e.pending = finger
		e.mu.Unlock()
		return nil
	}
	e.finger = finger
	e.mu.Unlock()
	rs, err := Compile(e.rulesFS(), e.compileOptions(nil))
	if err == nil && len(rs.rules) == 0 {
		err = Errors{{File: e.opts.RulesDir, Msg: "the rule set has no rules; keeping the running set (an empty set would allow everything)"}}
	}
	if err != nil {
		e.loadErr.Store(&loadError{err})
		e.m.reload("rejected")
		e.log.Error("engine: rule set rejected; the previous set keeps running", "dir", e.opts.RulesDir, "errors", err.Error())
		return err
	}
	e.publish(rs)
	e.m.reload("ok")
	e.log.Info("engine: rule set reloaded", "dir", e.opts.RulesDir, "rules", len(rs.rules))
	return nil
}

// LoadError returns why the last attempt to load the rules failed, or nil
// when the running set is the latest.
func (e *Engine) LoadError() error {
	if le := e.loadErr.Load(); le != nil {
		return le.err
	}
	return nil
}

// RuleSet returns the live rule set.
func (e *Engine) RuleSet() *RuleSet { return e.set.Load() }

// RuleStatus describes one rule of the live set for the console.
type RuleStatus struct {
	Name       string
	Version    int
	Mode       string
	Action     warden.Action
	Tags       []string
	Category   string
	File       string
	Line       int
	Hits       uint64 // since the engine started
	RecentHits uint64 // in the last hour of wall-clock time
}

// Rules lists the live rule set's rules in file order.
func (e *Engine) Rules() []RuleStatus {
	rs := e.set.Load()
	now := time.Now().Unix()
	out := make([]RuleStatus, 0, len(rs.rules))
	for _, r := range rs.rules {
		out = append(out, RuleStatus{Name: r.name, Version: r.version, Mode: r.modeStr, Action: r.action,
			Tags: r.tags, Category: r.category, File: r.file, Line: r.pos.Line, Hits: r.stats.hits.Load(), RecentHits: r.stats.recent(now)})
	}
	return out
}

// TopRules returns up to n rules that fired most in the last hour, most
// first.
func (e *Engine) TopRules(n int) []RuleStatus {
	all := e.Rules()
	sort.SliceStable(all, func(i, j int) bool { return all[i].RecentHits > all[j].RecentHits })
	for len(all) > 0 && all[len(all)-1].RecentHits == 0 {
		all = all[:len(all)-1]
	}
	return all[:min(n, len(all))]
}

// Evaluate returns the verdict for ev and records it in the engine's state.
func (e *Engine) Evaluate(ctx context.Context, ev *warden.Event) warden.Verdict {
	return e.Eval(ctx, ev).Verdict
}

// Eval evaluates ev with the live rule set, applies the counter updates and
// hands the effects to Options.OnEffects, and returns the full result.
func (e *Engine) Eval(ctx context.Context, ev *warden.Event) Result {
	return e.eval(ctx, ev, e.opts.Budget)
}

// Replay evaluates an event already in the log to rebuild the state it
// left: counters, detectors and what OnEffects keeps, with no time budget
// (a replay must not fail open where the first evaluation did not).
func (e *Engine) Replay(ctx context.Context, ev *warden.Event) {
	e.eval(ctx, ev, -1)
}

func (e *Engine) eval(ctx context.Context, ev *warden.Event, budget time.Duration) Result {
	return e.evalWith(ctx, ev, budget, nil, e.set.Load())
}

// evalWith evaluates ev with rs; with crowd set, the crowd counters and the
// detectors' features are crowd's (EvalCrowd).
func (e *Engine) evalWith(ctx context.Context, ev *warden.Event, budget time.Duration, crowd *Crowd, rs *RuleSet) Result {
	var feats *detect.Features
	switch {
	case crowd != nil:
		feats = &crowd.Features
	case e.opts.Detectors != nil:
		f := e.opts.Detectors.Observe(ev)
		feats = &f
	}
	start := time.Now()
	res := rs.evaluate(ctx, ev, e.st, feats, budget, true, hooks{hit: e.hit, ruleErr: e.ruleErr, crowd: crowd})
	e.applyStanding(ev, &res)
	if e.opts.Escalate != nil && !res.FailedOpen {
		e.opts.Escalate(ev, &res, rs.tagsOf)
	}
	e.events.Add(1)
	e.evals.Add(uint64(res.RuleEvals))
	if e.m != nil {
		e.m.observe(&res, time.Since(start))
	}
	if res.FailedOpen {
		e.log.Warn("engine: time budget exceeded; verdict failed open", "event", ev.ID, "budget", e.opts.Budget)
	}
	if e.opts.OnEffects != nil && len(res.Effects) > 0 {
		e.opts.OnEffects(ev, res.Effects)
	}
	e.maybeSweep(ev.Time, rs.maxWindow)
	return res
}

func (e *Engine) hit(r *rule) { r.stats.hit(time.Now().Unix()) }

func (e *Engine) ruleErr(r *rule, err error) {
	if e.m != nil {
		e.m.ruleErrors.WithLabelValues(r.name).Inc()
	}
	e.log.Debug("engine: rule failed", "rule", r.name, "err", err)
}

// sweepEvery is the event time between shard sweeps: each shard is swept
// every 320 s of event time or so, whatever the number of shards.
const sweepEvery = 320 * time.Second / state.Shards

// maybeSweep drops expired counter keys, one shard every sweepEvery of
// event time, so memory follows the live windows during a replay as in
// serving, and no single event waits for a whole sweep.
func (e *Engine) maybeSweep(t time.Time, maxWindow time.Duration) {
	now := t.UnixMilli()
	last := e.lastSweep.Load()
	if last == 0 {
		e.lastSweep.CompareAndSwap(0, now)
		return
	}
	if now-last < sweepEvery.Milliseconds() || !e.lastSweep.CompareAndSwap(last, now) {
		return
	}
	e.st.SweepShard(int(e.sweepNext.Add(1)), t, maxWindow)
}

// Stats are the engine's totals since it opened.
type Stats struct {
	Events    uint64 // events evaluated
	RuleEvals uint64 // rule expressions evaluated
	Keys      int    // counter keys held
}

// Stats returns the engine's totals.
func (e *Engine) Stats() Stats {
	return Stats{Events: e.events.Load(), RuleEvals: e.evals.Load(), Keys: e.st.Keys()}
}

// Run reloads the rules when their directory changes, until ctx is done.
func (e *Engine) Run(ctx context.Context) {
	poll := time.NewTicker(e.opts.Poll)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-poll.C:
			_ = e.Reload()
		}
	}
}

type metrics struct {
	events     prometheus.Counter
	evals      prometheus.Counter
	latency    prometheus.Histogram
	budget     prometheus.Counter
	ruleErrors *prometheus.CounterVec
	hits       *prometheus.CounterVec
	reloads    *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, e *Engine) *metrics {
	if reg == nil {
		return nil
	}
	m := &metrics{
		events:  prometheus.NewCounter(prometheus.CounterOpts{Name: "warden_engine_events_total", Help: "Events evaluated."}),
		evals:   prometheus.NewCounter(prometheus.CounterOpts{Name: "warden_engine_rule_evaluations_total", Help: "Rule expressions evaluated."}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "warden_engine_evaluation_seconds", Help: "Time to evaluate one event.", Buckets: prometheus.ExponentialBuckets(2e-6, 2.5, 12)}),
		budget:  prometheus.NewCounter(prometheus.CounterOpts{Name: "warden_engine_budget_exceeded_total", Help: "Events whose evaluation ran past the time budget and failed open."}),
		ruleErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "warden_engine_rule_errors_total",
			Help: "Rule evaluations that failed or panicked (contained; the rule counts as not matching)."}, []string{"rule"}),
		hits:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "warden_engine_rule_hits_total", Help: "Rule hits, in any mode."}, []string{"rule"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "warden_engine_reloads_total", Help: "Rule set reloads by result (ok, rejected)."}, []string{"result"}),
	}
	keys := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "warden_engine_state_keys", Help: "Counter keys held in memory."},
		func() float64 { return float64(e.st.Keys()) })
	m.events = register(reg, m.events)
	m.evals = register(reg, m.evals)
	m.latency = register(reg, m.latency)
	m.budget = register(reg, m.budget)
	m.ruleErrors = register(reg, m.ruleErrors)
	m.hits = register(reg, m.hits)
	m.reloads = register(reg, m.reloads)
	register(reg, prometheus.Collector(keys))
	return m
}

// register registers c, or returns the collector already registered under
// the same name (two engines in one process share their metrics).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}

func (m *metrics) observe(res *Result, d time.Duration) {
	m.events.Inc()
	m.evals.Add(float64(res.RuleEvals))
	m.latency.Observe(d.Seconds())
	if res.FailedOpen {
		m.budget.Inc()
	}
}

func (m *metrics) reload(result string) {
	if m != nil {
		m.reloads.WithLabelValues(result).Inc()
	}
}

// CompileDir compiles the rule set in dir ("" means the built-in pack).
// Errors name files by their path including dir, so they can be opened as
// printed.
func CompileDir(dir string, opts CompileOptions) (*RuleSet, error) {
	if dir == "" {
		return Compile(rules.FS, opts)
	}
	info, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("%s is not a directory of rule files", dir)
	}
	rs, err := Compile(os.DirFS(dir), opts)
	var errs Errors
	if errors.As(err, &errs) {
		for _, e := range errs {
			if e.File != "" {
				e.File = filepath.Join(dir, e.File)
			}
		}
	}
	return rs, err
}

// Has reports whether the set has a rule named name.
func (rs *RuleSet) Has(name string) bool {
	for _, r := range rs.rules {
		if r.name == name {
			return true
		}
	}
	return false
}

// tagsOf returns the tags of the rule named name, nil when there is none.
func (rs *RuleSet) tagsOf(name string) []string {
	for _, r := range rs.rules {
		if r.name == name {
			return r.tags
		}
	}
	return nil
}
