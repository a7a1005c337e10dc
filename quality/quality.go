// Package quality measures each rule version against what people decided:
// precision and false-positive rate from moderators' decisions and appeal
// reversals, the hold-out group (hits scored but not acted on) against the
// acted-on hits, and drift alerts when a rule's hit rate or precision
// moves against its trailing baseline.
//
// Everything is computed from the store: the hits the event log counts in
// each event's own transaction (rule_hit_days, rule_hit_accounts), and the
// decisions and appeals on the accounts hit. The unit of precision is an
// account a rule version hit: its latest judgement (see label) makes it a
// true or a false positive.
package quality

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/sqlstore"
)

// Store is what quality reads (sqlstore.DB).
type Store interface {
	RuleHitDays(ctx context.Context, from int64, rule string) ([]sqlstore.HitDay, error)
	RuleHitAccounts(ctx context.Context, since warden.Micros, rule string, fn func(sqlstore.HitAccount) error) error
	AccountJudgements(ctx context.Context) ([]sqlstore.AccountJudgement, error)
	ActiveSpans(ctx context.Context, accounts []string) (map[string][2]warden.Micros, error)
}

// Hit modes as quality groups them. A hold-out hit (ModeHoldout) is scored
// and not acted on, for a seeded share of actors; a store without any has
// no hold-out group.
const (
	ModeHoldout = "holdout"
)

// Options configure a Service.
type Options struct {
	Store Store
	Now   func() time.Time // time.Now if nil
	Drift Drift            // DefaultDrift if zero
}

// Service computes quality reports.
type Service struct {
	opt Options
}

// New returns a Service.
func New(opt Options) *Service {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Drift == (Drift{}) {
		opt.Drift = DefaultDrift
	}
	return &Service{opt: opt}
}

// Report is the quality of the rules over a window.
type Report struct {
	// Rule is the rule asked for; "" for every rule.
	Rule   string        `json:"rule,omitempty"`
	Since  time.Time     `json:"since"`
	Until  time.Time     `json:"until"`
	Method string        `json:"method"`
	Rules  []RuleQuality `json:"rules"`
	// Alerts are every rule's drift alerts in the window, oldest first.
	Alerts []Alert `json:"alerts"`
}

// RuleQuality is one rule: each version's figures, its hit rate per day,
// and its drift alerts.
type RuleQuality struct {
	Rule     string           `json:"rule"`
	Versions []VersionQuality `json:"versions"`
	Days     []Day            `json:"days"`
	Alerts   []Alert          `json:"alerts"`
}

// VersionQuality is one rule version's figures over the accounts it hit.
type VersionQuality struct {
	Version  int   `json:"version"`
	Hits     int64 `json:"hits"`
	Accounts int   `json:"accounts"`
	// TruePositives and FalsePositives count the accounts hit whose
	// latest judgement was a violation, or none; Precision is TP/(TP+FP).
	TruePositives  int      `json:"true_positives"`
	FalsePositives int      `json:"false_positives"`
	Precision      Interval `json:"precision"`
	// FalsePositiveRate is FalsePositives over the accounts judged
	// clean that were active while the version fired (Negatives).
	FalsePositiveRate Interval `json:"false_positive_rate"`
	Negatives         int      `json:"negatives"`
	// Groups splits the figures by the hits' mode: enforce (acted on),
	// holdout, shadow, sampled.
	Groups []Group `json:"groups"`
}

// Group is one mode's share of a version's hits.
type Group struct {
	Mode     string `json:"mode"`
	Hits     int64  `json:"hits"`
	Accounts int    `json:"accounts"`
	// Restricted is the accounts a moderator restricted (not reversed)
	// at or after the group's first hit on them, by report or case.
	Restricted     Interval `json:"restricted"`
	TruePositives  int      `json:"true_positives"`
	FalsePositives int      `json:"false_positives"`
	Precision      Interval `json:"precision"`
}

// Day is one event-time day of a rule's hit rate.
type Day struct {
	Day     string  `json:"day"` // YYYY-MM-DD, UTC
	Events  int64   `json:"events"`
	Hits    int64   `json:"hits"`
	Per1000 float64 `json:"per_1000"`
	// Baseline is the trailing baseline's rate per 1,000 events, when
	// there is one; Z the day's z statistic against it.
	Baseline *float64 `json:"baseline"`
	Z        float64  `json:"z"`
	Alert    bool     `json:"alert"`
}

// Alert is a drift: a rule's hit rate on a day, or its precision over the
// recent window, moved beyond the threshold against its baseline.
type Alert struct {
	Rule     string  `json:"rule"`
	Kind     string  `json:"kind"` // AlertHitRate or AlertPrecision
	Day      string  `json:"day"`
	Value    float64 `json:"value"`
	Baseline float64 `json:"baseline"`
	Z        float64 `json:"z"`
	Message  string  `json:"message"`
}

// Alert kinds.
const (
	AlertHitRate   = "hit_rate"
	AlertPrecision = "precision"
)

// MaxWindow is the longest window a report covers.
const MaxWindow = 366 * 24 * time.Hour

// Report computes the quality of rule (every rule if "") from since to
// now.
func (s *Service) Report(ctx context.Context, rule string, since time.Time) (*Report, error) {
	now := s.opt.Now().UTC()
	if since.After(now) {
		return nil, warden.FieldErrorf("since", "since %s is in the future", since.Format(time.RFC3339))
	}
	if now.Sub(since) > MaxWindow {
		return nil, warden.FieldErrorf("since", "since %s is more than 366 days ago; ask for a shorter window", since.Format(time.RFC3339))
	}
	d := s.opt.Drift
	sinceDay := dayOf(warden.MicrosOf(since))
	days, err := s.opt.Store.RuleHitDays(ctx, sinceDay-int64(d.BaselineDays), rule)
	if err != nil {
		return nil, fmt.Errorf("read hit counts: %w", err)
	}
	// Precision drift compares accounts first hit recently with those
	// hit before: read far enough back for both windows.
	from := min(warden.MicrosOf(since), warden.MicrosOf(now)-warden.Micros((d.RecentDays+d.PrecisionBaselineDays)*dayMicros))
	var accounts []sqlstore.HitAccount
	if err := s.opt.Store.RuleHitAccounts(ctx, from, rule, func(h sqlstore.HitAccount) error {
		accounts = append(accounts, h)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read the accounts rules hit: %w", err)
	}
	js, err := s.opt.Store.AccountJudgements(ctx)
	if err != nil {
		return nil, fmt.Errorf("read decisions: %w", err)
	}
	labels, restricted := judge(js)
	var negatives []string
	for a, l := range labels {
		if !l {
			negatives = append(negatives, a)
		}
	}
	slices.Sort(negatives)
	spans, err := s.opt.Store.ActiveSpans(ctx, negatives)
	if err != nil {
		return nil, fmt.Errorf("read activity: %w", err)
	}

	rep := &Report{Rule: rule, Since: since.UTC(), Until: now, Method: d.Method()}
	byRule := map[string]*RuleQuality{}
	get := func(name string) *RuleQuality {
		r, ok := byRule[name]
		if !ok {
			r = &RuleQuality{Rule: name, Versions: []VersionQuality{}, Days: []Day{}, Alerts: []Alert{}}
			byRule[name] = r
		}
		return r
	}
	sinceUS := warden.MicrosOf(since)
	inWindow := accounts[:0:0]
	for _, a := range accounts {
		if a.Last >= sinceUS {
			inWindow = append(inWindow, a)
		}
	}
	for name, vs := range versions(inWindow, labels, restricted, spans, negatives) {
		get(name).Versions = vs
	}
	events, hits := dayCounts(days)
	todayDay := dayOf(warden.MicrosOf(now))
	for name, perDay := range hits {
		r := get(name)
		r.Days, r.Alerts = d.hitRate(name, events, perDay, sinceDay, todayDay)
	}
	for name, r := range byRule {
		if a, ok := d.precision(name, accounts, labels, todayDay); ok {
			r.Alerts = append(r.Alerts, a)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(byRule)) {
		r := byRule[name]
		rep.Rules = append(rep.Rules, *r)
		rep.Alerts = append(rep.Alerts, r.Alerts...)
	}
	slices.SortStableFunc(rep.Alerts, func(a, b Alert) int { return cmp.Compare(a.Day, b.Day) })
	if rep.Rules == nil {
		rep.Rules = []RuleQuality{}
	}
	if rep.Alerts == nil {
		rep.Alerts = []Alert{}
	}
	return rep, nil
}

// judge reads each account's decisions, oldest first, into its label (true:
// a violation, false: none), from its latest judgement a person made or
// confirmed:
//   - a moderator's restriction not reversed: violation; reversed on
//     appeal: none;
//   - a moderator's "no violation" not reversed: none (a reversed one
//     reopens the case, whose next decision judges);
//   - an automated restriction is the rule's own act, no judgement,
//     until an appeal upholds it (violation) or reverses it (none).
//
// restricted is, per account, when a moderator last restricted it (not
// reversed): the hold-out's outcome.
func judge(js []sqlstore.AccountJudgement) (labels map[string]bool, restricted map[string]warden.Micros) {
	labels, restricted = map[string]bool{}, map[string]warden.Micros{}
	for _, j := range js {
		restrictive := j.Action != warden.ActNoViolation
		switch {
		case !j.Automated && !restrictive:
			if !j.Reversed {
				labels[j.Account] = false
			}
		case !j.Automated:
			labels[j.Account] = !j.Reversed
			if !j.Reversed {
				restricted[j.Account] = j.DecidedAt
			}
		case j.Reversed:
			labels[j.Account] = false
		case j.Upheld:
			labels[j.Account] = true
		}
	}
	return labels, restricted
}

type versionKey struct {
	rule    string
	version int
}

// versions computes each rule version's figures from the accounts it hit.
func versions(accounts []sqlstore.HitAccount, labels map[string]bool, restricted map[string]warden.Micros,
	spans map[string][2]warden.Micros, negatives []string) map[string][]VersionQuality {
	type agg struct {
		vq     VersionQuality
		seen   map[string]bool
		groups map[string]*Group
		lo, hi warden.Micros
		tp, fp int
		// restricted counts, per mode, the accounts a moderator
		// restricted after the mode's first hit.
		restricted map[string]int
	}
	aggs := map[versionKey]*agg{}
	for _, h := range accounts {
		k := versionKey{h.Rule, h.Version}
		a, ok := aggs[k]
		if !ok {
			a = &agg{vq: VersionQuality{Version: h.Version}, seen: map[string]bool{}, groups: map[string]*Group{}, lo: h.First, hi: h.Last,
				restricted: map[string]int{}}
			aggs[k] = a
		}
		a.vq.Hits += h.Hits
		a.lo, a.hi = min(a.lo, h.First), max(a.hi, h.Last)
		l, judged := labels[h.Actor]
		if !a.seen[h.Actor] {
			a.seen[h.Actor] = true
			if judged && l {
				a.tp++
			} else if judged {
				a.fp++
			}
		}
		g, ok := a.groups[h.Mode]
		if !ok {
			g = &Group{Mode: h.Mode}
			a.groups[h.Mode] = g
		}
		g.Hits += h.Hits
		g.Accounts++
		if judged && l {
			g.TruePositives++
		} else if judged {
			g.FalsePositives++
		}
		if at, ok := restricted[h.Actor]; ok && at >= h.First {
			a.restricted[h.Mode]++
		}
	}
	out := map[string][]VersionQuality{}
	for k, a := range aggs {
		v := a.vq
		v.Accounts = len(a.seen)
		v.TruePositives, v.FalsePositives = a.tp, a.fp
		v.Precision = Wilson(a.tp, a.tp+a.fp)
		for _, n := range negatives {
			// An account the version hit was active while it fired, even
			// when its events are not in the log any more (erased).
			if sp, ok := spans[n]; a.seen[n] || ok && sp[0] <= a.hi && sp[1] >= a.lo {
				v.Negatives++
			}
		}
		v.FalsePositiveRate = Wilson(a.fp, v.Negatives)
		for _, mode := range slices.Sorted(maps.Keys(a.groups)) {
			g := *a.groups[mode]
			g.Restricted = Wilson(a.restricted[mode], g.Accounts)
			g.Precision = Wilson(g.TruePositives, g.TruePositives+g.FalsePositives)
			v.Groups = append(v.Groups, g)
		}
		out[k.rule] = append(out[k.rule], v)
	}
	for _, vs := range out {
		slices.SortFunc(vs, func(a, b VersionQuality) int { return cmp.Compare(a.Version, b.Version) })
	}
	return out
}

// dayCounts splits the day counts into every event's per day and each
// rule's hits per day (all versions and modes).
func dayCounts(days []sqlstore.HitDay) (events map[int64]int64, hits map[string]map[int64]int64) {
	events, hits = map[int64]int64{}, map[string]map[int64]int64{}
	for _, d := range days {
		if d.Rule == "" {
			events[d.Day] += d.Hits
			continue
		}
		m, ok := hits[d.Rule]
		if !ok {
			m = map[int64]int64{}
			hits[d.Rule] = m
		}
		m[d.Day] += d.Hits
	}
	return events, hits
}

// dayMicros is one day in microseconds.
const dayMicros = 86_400_000_000

func dayOf(t warden.Micros) int64 { return int64(t) / dayMicros }

func dayName(day int64) string {
	return time.UnixMicro(day * dayMicros).UTC().Format(time.DateOnly)
}
