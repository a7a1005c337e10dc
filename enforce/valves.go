package enforce

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/wardenhq/warden/engine"
)

// Effects a daily quota can count: a rule hit's own action, or the ladder
// step (suspend, ban) its strike reached.
var quotaEffects = []string{"challenge", "rate_limit", "review", "block", StepSuspend, StepBan}

// RuleValves are one rule's safety valves.
type RuleValves struct {
	// Quota caps the rule's enforce-mode effects per UTC day of event
	// time (0: no cap); past it a hit's action is held to review.
	Quota int
	// QuotaEffects are the effects the quota counts: actions (challenge,
	// rate_limit, review, block) and ladder steps (suspend, ban).
	QuotaEffects []string
	// BreakerFactor trips the rule's breaker when its share of recent
	// traffic reaches this many times its usual share (0: no breaker).
	BreakerFactor float64
	// BreakerMinEvents is the traffic the window, and the baseline
	// before it, need before the breaker judges.
	BreakerMinEvents int
	// BreakerMinHits is the hits in the window the breaker needs.
	BreakerMinHits int
	// BreakerMinShare is the share of the window's events the rule must
	// fire on to trip: a large share of traffic, not a campaign the rule
	// is there to catch.
	BreakerMinShare float64
	// Holdout is the fraction of actors whose hits are scored and
	// recorded (mode holdout) but not acted on.
	Holdout float64
	// JitterMin and JitterMax bound the delay, in event time, before a
	// suspension or ban the rule's strike reached takes effect.
	JitterMin, JitterMax time.Duration
}

// ValveSet is the safety valves of a rule set: shared settings, the
// defaults every enforce-mode rule gets, and rules' own valves over them.
type ValveSet struct {
	// Seed seeds the hold-out and jitter hashes: changing it draws new
	// hold-out groups and delays.
	Seed string
	// Window is the recent traffic a breaker looks at; Baseline the
	// traffic its usual share comes from (the Window excluded).
	Window, Baseline time.Duration
	Defaults         RuleValves
	Rules            map[string]*RuleValves
	// where names each rule's entry (file and index) for CheckRules.
	where map[string]string
	// entries are the rules' declared fields until resolve lays them over
	// the defaults; shared names where seed, breaker and defaults were
	// declared (once in a rule set).
	entries []ruleEntry
	shared  string
}

type ruleEntry struct {
	at, rule string
	f        valvesFields
}

// DefaultValves are the valves with no declaration: no quota, a 10×
// breaker over 10 minutes against the last day, no hold-out, no delay.
func DefaultValves() ValveSet {
	return ValveSet{Seed: "warden", Window: 10 * time.Minute, Baseline: 24 * time.Hour,
		Defaults: RuleValves{QuotaEffects: []string{"rate_limit", "block", StepSuspend, StepBan}, BreakerFactor: 10, BreakerMinEvents: 200, BreakerMinHits: 10, BreakerMinShare: 0.05},
		Rules:    map[string]*RuleValves{}, where: map[string]string{}}
}

// valvesFields is a rule's valves as a valves file writes them; a field
// left out keeps the default.
type valvesFields struct {
	Quota            *int     `yaml:"quota"`
	QuotaEffects     []string `yaml:"quota_effects"`
	BreakerFactor    *float64 `yaml:"breaker_factor"`
	BreakerMinEvents *int     `yaml:"breaker_min_events"`
	BreakerMinHits   *int     `yaml:"breaker_min_hits"`
	BreakerMinShare  *float64 `yaml:"breaker_min_share"`
	Holdout          *float64 `yaml:"holdout"`
	Jitter           *string  `yaml:"jitter"`
}

type valvesFile struct {
	Seed    *string `yaml:"seed"`
	Breaker *struct {
		Window   string `yaml:"window"`
		Baseline string `yaml:"baseline"`
	} `yaml:"breaker"`
	Defaults *valvesFields `yaml:"defaults"`
	Rules    []struct {
		Rule         string `yaml:"rule"`
		valvesFields `yaml:",inline"`
	} `yaml:"rules"`
}

// ParseValves reads a valves file over DefaultValves. Every error names
// the file and the field; nothing is returned with an error.
func ParseValves(file string, data []byte) (*ValveSet, error) {
	vs := DefaultValves()
	if err := vs.parse(file, data); err != nil {
		return nil, err
	}
	if err := vs.resolve(); err != nil {
		return nil, err
	}
	return &vs, nil
}

func (vs *ValveSet) parse(file string, data []byte) error {
	var f valvesFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && err != io.EOF {
		return fmt.Errorf("%s: %w", file, err)
	}
	if f.Seed != nil || f.Breaker != nil || f.Defaults != nil {
		if vs.shared != "" {
			return fmt.Errorf("%s: seed, breaker and defaults are declared in %s already: once in a rule set", file, vs.shared)
		}
		vs.shared = file
	}
	if f.Seed != nil {
		if *f.Seed == "" {
			return fmt.Errorf("%s: seed: a non-empty string", file)
		}
		vs.Seed = *f.Seed
	}
	if b := f.Breaker; b != nil {
		for _, d := range []struct {
			field, v string
			into     *time.Duration
		}{{"breaker.window", b.Window, &vs.Window}, {"breaker.baseline", b.Baseline, &vs.Baseline}} {
			if d.v == "" {
				continue
			}
			v, err := time.ParseDuration(d.v)
			if err != nil || v < time.Minute {
				return fmt.Errorf("%s: %s: %q is not a duration of a minute or more, such as 10m", file, d.field, d.v)
			}
			*d.into = v
		}
		if vs.Baseline < 2*vs.Window {
			return fmt.Errorf("%s: breaker.baseline: %s is not at least twice the window %s: the usual share needs traffic before the window", file, vs.Baseline, vs.Window)
		}
	}
	if f.Defaults != nil {
		if err := f.Defaults.apply(file+": defaults", &vs.Defaults); err != nil {
			return err
		}
	}
	for i, r := range f.Rules {
		at := fmt.Sprintf("%s: rules[%d]", file, i)
		if r.Rule != "" {
			at += " (" + r.Rule + ")"
		}
		switch {
		case r.Rule == "":
			return fmt.Errorf("%s: rule: name the rule these valves are for", at)
		case strings.HasPrefix(r.Rule, LadderRule):
			return fmt.Errorf("%s: rule: %q is a ladder, not a rule", at, r.Rule)
		}
		if first, ok := vs.where[r.Rule]; ok {
			return fmt.Errorf("%s: rule: valves declared twice (%s first)", at, first)
		}
		vs.where[r.Rule] = at
		vs.entries = append(vs.entries, ruleEntry{at, r.Rule, r.valvesFields})
	}
	return nil
}

// resolve lays each rule's declared fields over the defaults.
func (vs *ValveSet) resolve() error {
	for _, e := range vs.entries {
		rv := vs.Defaults
		rv.QuotaEffects = slices.Clone(rv.QuotaEffects)
		if err := e.f.apply(e.at, &rv); err != nil {
			return err
		}
		vs.Rules[e.rule] = &rv
	}
	vs.entries = nil
	return nil
}

// apply sets into's fields that f declares; at names f in errors.
func (f *valvesFields) apply(at string, into *RuleValves) error {
	if f.Quota != nil {
		if *f.Quota < 0 {
			return fmt.Errorf("%s: quota: %d is negative: a number of effects a day, 0 for none", at, *f.Quota)
		}
		into.Quota = *f.Quota
	}
	if f.QuotaEffects != nil {
		if len(f.QuotaEffects) == 0 {
			return fmt.Errorf("%s: quota_effects: name at least one of %s", at, strings.Join(quotaEffects, ", "))
		}
		for j, e := range f.QuotaEffects {
			if !slices.Contains(quotaEffects, e) {
				return fmt.Errorf("%s: quota_effects[%d]: %q is not one of %s", at, j, e, strings.Join(quotaEffects, ", "))
			}
		}
		into.QuotaEffects = slices.Clone(f.QuotaEffects)
	}
	if f.BreakerFactor != nil {
		if v := *f.BreakerFactor; math.IsNaN(v) || v < 0 || (v > 0 && v < 1.5) || math.IsInf(v, 0) {
			return fmt.Errorf("%s: breaker_factor: %v is not 0 (no breaker) or a factor of 1.5 or more", at, v)
		}
		into.BreakerFactor = *f.BreakerFactor
	}
	for _, n := range []struct {
		field string
		v     *int
		into  *int
	}{{"breaker_min_events", f.BreakerMinEvents, &into.BreakerMinEvents}, {"breaker_min_hits", f.BreakerMinHits, &into.BreakerMinHits}} {
		if n.v == nil {
			continue
		}
		if *n.v < 1 {
			return fmt.Errorf("%s: %s: %d is not a positive count", at, n.field, *n.v)
		}
		*n.into = *n.v
	}
	if f.BreakerMinShare != nil {
		if v := *f.BreakerMinShare; math.IsNaN(v) || v < 0 || v >= 1 {
			return fmt.Errorf("%s: breaker_min_share: %v is not a share of events from 0 to below 1, such as 0.05", at, v)
		}
		into.BreakerMinShare = *f.BreakerMinShare
	}
	if f.Holdout != nil {
		if v := *f.Holdout; math.IsNaN(v) || v < 0 || v >= 0.5 {
			return fmt.Errorf("%s: holdout: %v is not a fraction of actors from 0 to below 0.5, such as 0.05", at, v)
		}
		into.Holdout = *f.Holdout
	}
	if f.Jitter != nil {
		lo, hi, err := parseJitter(*f.Jitter)
		if err != nil {
			return fmt.Errorf("%s: jitter: %w", at, err)
		}
		into.JitterMin, into.JitterMax = lo, hi
	}
	return nil
}

// maxJitter bounds a delay: a restriction held for more than a day is no
// longer a delay.
const maxJitter = 24 * time.Hour

// parseJitter reads "0s-30m" (a range) or "10m" (a fixed delay).
func parseJitter(s string) (time.Duration, time.Duration, error) {
	a, b, isRange := strings.Cut(strings.TrimSpace(s), "-")
	lo, err := time.ParseDuration(strings.TrimSpace(a))
	if err != nil {
		return 0, 0, fmt.Errorf("%q is not a range of event time such as 0s-30m", s)
	}
	hi := lo
	if isRange {
		if hi, err = time.ParseDuration(strings.TrimSpace(b)); err != nil {
			return 0, 0, fmt.Errorf("%q is not a range of event time such as 0s-30m", s)
		}
	}
	switch {
	case lo < 0 || hi < lo:
		return 0, 0, fmt.Errorf("%q: the range runs from a delay of 0 or more to one no shorter", s)
	case hi > maxJitter:
		return 0, 0, fmt.Errorf("%q: a delay is at most %s", s, maxJitter)
	}
	return lo, hi, nil
}

// CheckRules refuses valves declared for a rule not in known, naming the
// file and the entry.
func (vs *ValveSet) CheckRules(known func(rule string) bool) error {
	names := make([]string, 0, len(vs.Rules))
	for r := range vs.Rules {
		names = append(names, r)
	}
	slices.Sort(names)
	for _, r := range names {
		if !known(r) {
			return fmt.Errorf("%s: rule: %q is not a rule of the rule set", vs.where[r], r)
		}
	}
	return nil
}

// For returns rule's valves: its own, or the defaults.
func (vs *ValveSet) For(rule string) *RuleValves {
	if rv, ok := vs.Rules[rule]; ok {
		return rv
	}
	return &vs.Defaults
}

// LoadValves reads every valves file in fsys's engine.ValvesDir, in name
// order, over DefaultValves (none: the defaults). Valves for one rule in
// two files are an error.
func LoadValves(fsys fs.FS) (*ValveSet, error) {
	names, err := fs.Glob(fsys, engine.ValvesDir+"/*.yaml")
	if err != nil {
		return nil, err
	}
	vs := DefaultValves()
	for _, n := range names {
		data, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		if err := vs.parse(n, data); err != nil {
			return nil, err
		}
	}
	if err := vs.resolve(); err != nil {
		return nil, err
	}
	return &vs, nil
}

// pct writes a share as a percentage a moderator reads: "31 %", "0.4 %".
func pct(share float64) string {
	p := share * 100
	if p >= 10 || p == 0 {
		return strconv.FormatFloat(math.Round(p), 'f', -1, 64) + " %"
	}
	return strconv.FormatFloat(p, 'g', 2, 64) + " %"
}
