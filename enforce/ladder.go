package enforce

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/engine"
)

// Ladder steps, least severe first. A step is what the platform does on an
// account's nth strike under a policy.
const (
	StepWarn      = "warn"       // tell the account; the verdict is unchanged
	StepChallenge = "challenge"  // at least challenge (step-up, captcha)
	StepRateLimit = "rate_limit" // at least rate-limit
	StepSuspend   = "suspend"    // suspend the account for a duration
	StepBan       = "ban"        // ban the account
)

var stepOrder = []string{StepWarn, StepChallenge, StepRateLimit, StepSuspend, StepBan}

// Step is one rung of a ladder.
type Step struct {
	Action   string
	Duration time.Duration // suspend only
}

// Restrictive reports whether the step restricts the account (a decision
// with a statement of reasons): suspend and ban.
func (s Step) Restrictive() bool { return s.Action == StepSuspend || s.Action == StepBan }

// String is the step as the ladder file writes it ("suspend 24h").
func (s Step) String() string {
	if s.Duration > 0 {
		return s.Action + " " + s.Duration.String()
	}
	return s.Action
}

// Policy is one ladder: hits of enforce-mode rules carrying one of its tags
// are strikes against the acting account; the nth live strike takes the
// nth step (the last step repeats). Strikes expire after Decay; one strike
// at most per Cooldown, so a burst of hits is one offence.
type Policy struct {
	Name     string
	Tags     []string
	Category string // the report category of its restrictions (scam, other …)
	Decay    time.Duration
	Cooldown time.Duration
	Steps    []Step
}

// ladderFile is the YAML of a ladder file.
type ladderFile struct {
	Ladders []struct {
		Policy   string   `yaml:"policy"`
		Tags     []string `yaml:"tags"`
		Category string   `yaml:"category"`
		Decay    string   `yaml:"decay"`
		Cooldown string   `yaml:"cooldown"`
		Steps    []string `yaml:"steps"`
	} `yaml:"ladders"`
}

// ParseLadders reads a ladder file. Every error names the file, the
// ladder and the field; nothing is returned with an error. Steps must rise
// in severity: one no more severe than the step before is a loop (the
// offender would go round it), and a suspension needs its length.
func ParseLadders(file string, data []byte) ([]Policy, error) {
	var f ladderFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && err != io.EOF {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var out []Policy
	seenTag := map[string]string{}
	for i, l := range f.Ladders {
		at := fmt.Sprintf("%s: ladders[%d]", file, i)
		if l.Policy != "" {
			at += " (" + l.Policy + ")"
		}
		p := Policy{Name: l.Policy, Tags: l.Tags, Category: l.Category, Decay: 30 * 24 * time.Hour, Cooldown: 10 * time.Minute}
		switch {
		case p.Name == "" || strings.ContainsAny(p.Name, " :\t\n"):
			return nil, fmt.Errorf("%s: policy: a name without spaces or colons is required", at)
		case slices.ContainsFunc(out, func(o Policy) bool { return o.Name == p.Name }):
			return nil, fmt.Errorf("%s: policy: declared twice", at)
		case len(p.Tags) == 0:
			return nil, fmt.Errorf("%s: tags: name the rule tags whose hits are strikes", at)
		case p.Category != "" && !slices.Contains(warden.Categories, p.Category):
			return nil, fmt.Errorf("%s: category: %q is not one of %s", at, p.Category, strings.Join(warden.Categories, ", "))
		}
		if p.Category == "" {
			p.Category = warden.CategoryOther
		}
		for _, t := range p.Tags {
			if other, ok := seenTag[t]; ok {
				return nil, fmt.Errorf("%s: tags: %q is on ladder %s too: a hit climbs one ladder", at, t, other)
			}
			seenTag[t] = p.Name
		}
		for _, d := range []struct {
			field, v string
			into     *time.Duration
		}{{"decay", l.Decay, &p.Decay}, {"cooldown", l.Cooldown, &p.Cooldown}} {
			if d.v == "" {
				continue
			}
			v, err := time.ParseDuration(d.v)
			if err != nil || v < 0 || (d.field == "decay" && v == 0) {
				return nil, fmt.Errorf("%s: %s: %q is not a positive duration such as 720h", at, d.field, d.v)
			}
			*d.into = v
		}
		if p.Cooldown >= p.Decay {
			return nil, fmt.Errorf("%s: cooldown: %s is not shorter than the decay %s: no second strike could count", at, p.Cooldown, p.Decay)
		}
		if len(l.Steps) == 0 {
			return nil, fmt.Errorf("%s: steps: at least one step (%s)", at, strings.Join(stepOrder, ", "))
		}
		prev := -1
		for j, s := range l.Steps {
			name, dur, _ := strings.Cut(strings.TrimSpace(s), " ")
			rank := slices.Index(stepOrder, name)
			if rank < 0 {
				return nil, fmt.Errorf("%s: steps[%d]: %q is not a step: use %s", at, j, name, strings.Join(stepOrder, ", "))
			}
			st := Step{Action: name}
			if name == StepSuspend {
				d, err := time.ParseDuration(strings.TrimSpace(dur))
				if err != nil || d <= 0 {
					return nil, fmt.Errorf("%s: steps[%d]: a suspension needs its length, as in \"suspend 24h\"", at, j)
				}
				st.Duration = d
			} else if dur != "" {
				return nil, fmt.Errorf("%s: steps[%d]: only suspend takes a length", at, j)
			}
			if rank <= prev && !(rank == prev && name == StepSuspend && st.Duration > p.Steps[j-1].Duration) {
				return nil, fmt.Errorf("%s: steps[%d]: %s after %s is a loop: each step is more severe than the one before", at, j, st, p.Steps[j-1])
			}
			prev = rank
			p.Steps = append(p.Steps, st)
		}
		out = append(out, p)
	}
	return out, nil
}

// strike is one offence under a policy.
type strike struct {
	Policy string
	Rule   string
	At     int64 // event time, unix µs
}

// Strike is an account's live offence under a policy.
type Strike struct {
	Policy    string        `json:"policy"`
	Rule      string        `json:"rule"`
	At        warden.Micros `json:"at"`
	ExpiresAt warden.Micros `json:"expires_at"`
}

// Ladder turns repeated strikes into escalating steps. Its state (each
// account's strikes) is rebuilt from the event log like the counters, so
// the engine's snapshots carry it and an event is fully in it or not at
// all. Safe for concurrent use; bounded by Max accounts.
type Ladder struct {
	policies []Policy
	byTag    map[string]int

	mu  sync.Mutex
	m   map[string][]strike // account → strikes, oldest first
	Max int
}

// NewLadder returns a ladder over policies holding at most max accounts.
func NewLadder(policies []Policy, max int) *Ladder {
	l := &Ladder{policies: policies, byTag: map[string]int{}, m: map[string][]strike{}, Max: max}
	for i, p := range policies {
		for _, t := range p.Tags {
			l.byTag[t] = i
		}
	}
	return l
}

// Policies returns the ladders.
func (l *Ladder) Policies() []Policy { return l.policies }

// LadderRule prefixes the hit a ladder step adds to a verdict.
const LadderRule = "ladder:"

// Escalate is the engine's escalation hook: each enforce-mode hit whose
// rule carries a ladder's tag is a strike against ev's actor (one per
// cooldown), and the step its live strikes reach is added to the verdict
// as a hit naming the ladder, raising the action to the step's. Shadow
// and sampled-out hits are no strikes.
func (l *Ladder) Escalate(ev *warden.Event, res *engine.Result, tagsOf func(rule string) []string) {
	for _, x := range l.steps(ev, res, tagsOf, nil) {
		res.Verdict.Hits = append(res.Verdict.Hits, x.hit)
		if x.hit.Action > res.Verdict.Action {
			res.Verdict.Action = x.hit.Action
		}
	}
}

// ladderStep is the hit of a step a strike reached, and the rule whose
// hit was the strike.
type ladderStep struct {
	hit  warden.Hit
	rule string
}

// steps counts the strikes of res's hits, but those held reports (held by
// a safety valve: no offence acted on), and returns the steps reached.
func (l *Ladder) steps(ev *warden.Event, res *engine.Result, tagsOf func(rule string) []string, held func(i int) bool) []ladderStep {
	if ev.Actor == "" || len(l.policies) == 0 {
		return nil
	}
	var out []ladderStep
	for i, h := range res.Verdict.Hits {
		if h.Mode != warden.ModeEnforce || h.Action == warden.ActionAllow || strings.HasPrefix(h.Rule, LadderRule) || (held != nil && held(i)) {
			continue
		}
		for _, t := range tagsOf(h.Rule) {
			k, ok := l.byTag[t]
			if !ok {
				continue
			}
			if x, ok := l.strike(ev, k, h.Rule); ok {
				x.Escalation.RuleVersion = h.Version
				out = append(out, ladderStep{x, h.Rule})
			}
			break
		}
	}
	return out
}

// strike records a strike under policy i, unless one was recorded within
// the cooldown, and returns the step's hit.
func (l *Ladder) strike(ev *warden.Event, i int, rule string) (warden.Hit, bool) {
	p := &l.policies[i]
	now := ev.Time.UnixMicro()
	l.mu.Lock()
	defer l.mu.Unlock()
	ss := l.live(ev.Actor, now)
	n := 0
	for _, s := range ss {
		if s.Policy == p.Name {
			n++
			if now-s.At < p.Cooldown.Microseconds() {
				return warden.Hit{}, false // the same offence
			}
		}
	}
	if _, ok := l.m[ev.Actor]; !ok && len(l.m) >= l.Max {
		l.sweep(now)
	}
	l.m[ev.Actor] = append(ss, strike{Policy: p.Name, Rule: rule, At: now})
	n++
	return stepHit(p, n, rule, p.Steps[min(n, len(p.Steps))-1]), true
}

// stepHit is the hit of the nth strike under p, by rule's hit, reaching
// step.
func stepHit(p *Policy, n int, rule string, step Step) warden.Hit {
	h := warden.Hit{Rule: LadderRule + p.Name, Version: n, Mode: warden.ModeEnforce, Category: p.Category,
		Reason: fmt.Sprintf("strike %d on the %s ladder (%s): %s", n, p.Name, rule, step), Case: warden.CaseNone,
		Escalation: &warden.Escalation{Policy: p.Name, Strike: n, Step: step.Action, Rule: rule}}
	switch step.Action {
	case StepChallenge:
		h.Action = warden.ActionChallenge
	case StepRateLimit:
		h.Action = warden.ActionRateLimit
	case StepSuspend, StepBan:
		h.Action = warden.ActionBlock
		h.Case = warden.CaseAccount
		if step.Duration > 0 {
			h.Escalation.Duration = step.Duration.String()
		}
	}
	return h
}

// live returns the account's strikes that have not decayed at now, and
// drops the others.
func (l *Ladder) live(account string, now int64) []strike {
	ss := l.m[account]
	keep := ss[:0]
	for _, s := range ss {
		if d := l.decay(s.Policy); d == 0 || now-s.At < d.Microseconds() {
			keep = append(keep, s)
		}
	}
	if len(keep) == 0 {
		delete(l.m, account)
		return nil
	}
	l.m[account] = keep
	return keep
}

func (l *Ladder) decay(policy string) time.Duration {
	for _, p := range l.policies {
		if p.Name == policy {
			return p.Decay
		}
	}
	return 0 // a policy no longer declared: its strikes go at the next sweep
}

// sweep drops decayed strikes; if still full, the accounts with the
// oldest last strike go until a tenth of Max is free.
func (l *Ladder) sweep(now int64) {
	for a := range l.m {
		l.live(a, now)
	}
	for len(l.m) > l.Max-l.Max/10 {
		var victim string
		oldest := int64(-1)
		for a, ss := range l.m {
			if last := ss[len(ss)-1].At; oldest < 0 || last < oldest {
				victim, oldest = a, last
			}
		}
		delete(l.m, victim)
	}
}

// Strikes returns account's live strikes at now, oldest first.
func (l *Ladder) Strikes(account string, now time.Time) []Strike {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Strike
	for _, s := range l.m[account] {
		d := l.decay(s.Policy)
		if d == 0 || now.UnixMicro()-s.At >= d.Microseconds() {
			continue
		}
		out = append(out, Strike{Policy: s.Policy, Rule: s.Rule, At: warden.Micros(s.At), ExpiresAt: warden.Micros(s.At + d.Microseconds())})
	}
	return out
}

// WriteState writes the strikes, for the engine's snapshots.
func (l *Ladder) WriteState(w io.Writer) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return gob.NewEncoder(w).Encode(l.m)
}

// ReadState replaces the strikes with those WriteState wrote.
func (l *Ladder) ReadState(r io.Reader) error {
	var m map[string][]strike
	if err := gob.NewDecoder(r).Decode(&m); err != nil {
		l.Reset()
		return fmt.Errorf("ladder snapshot: %w", err)
	}
	if m == nil {
		m = map[string][]strike{}
	}
	l.mu.Lock()
	l.m = m
	l.mu.Unlock()
	return nil
}

// Reset drops every strike.
func (l *Ladder) Reset() {
	l.mu.Lock()
	l.m = map[string][]strike{}
	l.mu.Unlock()
}

// LoadLadders reads every ladder file in fsys's engine.LadderDir (none is
// no ladders). A policy or tag declared in two files is an error.
func LoadLadders(fsys fs.FS) ([]Policy, error) {
	names, err := fs.Glob(fsys, engine.LadderDir+"/*.yaml")
	if err != nil {
		return nil, err
	}
	var all []Policy
	tags := map[string]string{}
	for _, n := range names {
		data, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		ps, err := ParseLadders(n, data)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			if slices.ContainsFunc(all, func(o Policy) bool { return o.Name == p.Name }) {
				return nil, fmt.Errorf("%s: ladder %s is declared in another file too", n, p.Name)
			}
			for _, t := range p.Tags {
				if other, ok := tags[t]; ok {
					return nil, fmt.Errorf("%s: ladder %s: tag %q is on ladder %s too", n, p.Name, t, other)
				}
				tags[t] = p.Name
			}
			all = append(all, p)
		}
	}
	return all, nil
}
