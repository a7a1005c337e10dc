package detect

import (
	"sort"
	"time"

	"github.com/wardenhq/warden"
)

// LockstepTruth is the ground truth of one event for EvalLockstep: the
// lockstep campaign run its actor belongs to ("" for none; a run is one
// launch of a campaign, and its start is its first event), and the kind of
// campaign its actor belongs to, lockstep or not ("" for an ordinary
// account).
type LockstepTruth struct {
	Run, Kind string
}

// LockstepReport measures lockstep detection against ground truth.
type LockstepReport struct {
	Members       int `json:"members"`         // campaign accounts
	FlaggedInTime int `json:"flagged_in_time"` // members flagged within the deadline of their campaign's start
	Flagged       int `json:"flagged"`         // distinct accounts flagged at any time
	FalseFlagged  int `json:"false_flagged"`   // of those, not members of a lockstep campaign
	// FalseFlaggedBots counts the FalseFlagged accounts that belong to a
	// campaign of another kind (a follow farm's accounts following the
	// same customers within seconds, say): coordinated, but not what the
	// truth calls lockstep.
	FalseFlaggedBots int     `json:"false_flagged_bots"`
	Recall           float64 `json:"recall"`         // FlaggedInTime / Members
	Precision        float64 `json:"precision"`      // (Flagged - FalseFlagged) / Flagged
	MedianDelayS     float64 `json:"median_delay_s"` // from campaign start to a member's first flag
	// ByKind breaks the members down by campaign kind.
	ByKind map[string]*LockstepKindReport `json:"by_kind"`
}

// LockstepKindReport is the part of a LockstepReport for one campaign kind.
type LockstepKindReport struct {
	Members       int     `json:"members"`
	FlaggedInTime int     `json:"flagged_in_time"`
	FlaggedEver   int     `json:"flagged_ever"` // members flagged at any time
	Recall        float64 `json:"recall"`       // FlaggedInTime / Members
	MedianDelayS  float64 `json:"median_delay_s"`
	delays        []float64
}

// LockstepFlagGroup is the lockstep group size at which an account counts
// as flagged in LockstepReport (and the built-in rule pack's suggestion).
const LockstepFlagGroup = 8

// EvalLockstep replays events through s in order (truth[i] is events[i]'s)
// and reports how many campaign members reach a lockstep group of at least
// minGroup within deadline of their campaign run's first event, and how
// many other accounts reach it at all. progress, when set, is called every
// 100,000 events with the number done.
func EvalLockstep(s *Set, events []warden.Event, truth []LockstepTruth, minGroup int, deadline time.Duration, progress func(done int)) LockstepReport {
	r := LockstepReport{ByKind: map[string]*LockstepKindReport{}}
	member := map[string]LockstepTruth{}
	bots := map[string]bool{}
	start := map[string]time.Time{}
	for i := range events {
		tr := truth[i]
		if tr.Run == "" {
			if tr.Kind != "" {
				bots[events[i].Actor] = true
			}
			continue
		}
		if _, ok := member[events[i].Actor]; !ok {
			member[events[i].Actor] = tr
			k := r.ByKind[tr.Kind]
			if k == nil {
				k = &LockstepKindReport{}
				r.ByKind[tr.Kind] = k
			}
			k.Members++
		}
		if st, ok := start[tr.Run]; !ok || events[i].Time.Before(st) {
			start[tr.Run] = events[i].Time
		}
	}
	r.Members = len(member)
	flagged := map[string]bool{}
	var delays []float64
	for i := range events {
		if progress != nil && i%100_000 == 0 && i > 0 {
			progress(i)
		}
		ev := &events[i]
		f := s.Observe(ev)
		if f.LockstepGroup < minGroup || flagged[ev.Actor] {
			continue
		}
		flagged[ev.Actor] = true
		m, ok := member[ev.Actor]
		if !ok {
			r.FalseFlagged++
			if bots[ev.Actor] {
				r.FalseFlaggedBots++
			}
			continue
		}
		k := r.ByKind[m.Kind]
		d := ev.Time.Sub(start[m.Run]).Seconds()
		delays = append(delays, d)
		k.delays = append(k.delays, d)
		k.FlaggedEver++
		if d <= deadline.Seconds() {
			r.FlaggedInTime++
			k.FlaggedInTime++
		}
	}
	if progress != nil {
		progress(len(events))
	}
	r.Flagged = len(flagged)
	r.Recall = ratio(r.FlaggedInTime, r.Members)
	r.Precision = ratio(r.Flagged-r.FalseFlagged, r.Flagged)
	r.MedianDelayS = median(delays)
	for _, k := range r.ByKind {
		k.Recall = ratio(k.FlaggedInTime, k.Members)
		k.MedianDelayS = median(k.delays)
	}
	return r
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sort.Float64s(xs)
	return xs[len(xs)/2]
}
