package detect

import (
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/wardenhq/warden"
)

// CampaignConfig shapes a synthetic workload for the coordination detectors:
// ordinary accounts with heavy-tailed activity and popular targets, "creator
// drops" (a popular account posts a few things and its fans pile in, the
// honest crowd that looks most like lockstep), and injected lockstep
// campaigns (a crowd acting on the same list of targets within seconds).
// Zero fields take the defaults in brackets.
type CampaignConfig struct {
	Seed      uint64
	Start     time.Time     // [2026-01-05T00:00:00Z]
	Duration  time.Duration // [30m]
	Accounts  int           // ordinary accounts [20,000]
	Rate      float64       // ordinary events per second [200]
	Campaigns int           // lockstep campaigns, spread over the duration [6]
	Members   int           // accounts per campaign: Members..2×Members [20]
	Targets   int           // targets per campaign [10]
	Pace      time.Duration // between a campaign's targets [10s]
	Jitter    time.Duration // members act within this of a target's turn [15s]
	Drops     int           // creator drops [Duration/2m]; negative: none
}

func (c *CampaignConfig) defaults() {
	if c.Start.IsZero() {
		c.Start = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	}
	if c.Duration <= 0 {
		c.Duration = 30 * time.Minute
	}
	if c.Accounts <= 0 {
		c.Accounts = 20000
	}
	if c.Rate <= 0 {
		c.Rate = 200
	}
	if c.Campaigns <= 0 {
		c.Campaigns = 6
	}
	if c.Members <= 0 {
		c.Members = 20
	}
	if c.Targets <= 0 {
		c.Targets = 10
	}
	if c.Pace <= 0 {
		c.Pace = 10 * time.Second
	}
	if c.Jitter <= 0 {
		c.Jitter = 15 * time.Second
	}
	if c.Drops == 0 {
		c.Drops = int(c.Duration / (2 * time.Minute))
	}
}

// CampaignTruth is the ground truth of a generated workload: each campaign
// member's campaign, and each campaign's first event time.
type CampaignTruth struct {
	Member map[string]string
	Start  map[string]time.Time
}

// GenerateCampaigns returns a workload in event-time order and its truth.
// The same config always yields the same events.
func GenerateCampaigns(cfg CampaignConfig) ([]warden.Event, CampaignTruth) {
	cfg.defaults()
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x10c4573e9))
	zipf := rand.NewZipf(rng, 1.2, 4, uint64(cfg.Accounts-1))
	truth := CampaignTruth{Member: map[string]string{}, Start: map[string]time.Time{}}
	var evs []warden.Event
	seq := 0
	add := func(t time.Time, typ, actor, target, kind string) {
		seq++
		evs = append(evs, warden.Event{ID: "g" + strconv.Itoa(seq), Type: typ, Time: t, Actor: actor, Target: target, TargetKind: kind})
	}
	user := func(i int) string { return "u" + strconv.Itoa(i) }
	post := func(owner int) string { return "p" + strconv.Itoa(owner) + "-" + strconv.Itoa(rng.IntN(20)) }
	active := func() int { // a quarter of the accounts do three quarters of the acting
		if rng.IntN(4) != 0 {
			return rng.IntN(cfg.Accounts/4 + 1)
		}
		return rng.IntN(cfg.Accounts)
	}
	span := cfg.Duration.Seconds()
	// Ordinary activity.
	n := int(cfg.Rate * span)
	for k := 0; k < n; k++ {
		t := cfg.Start.Add(time.Duration(rng.Float64() * float64(cfg.Duration)))
		a := active()
		switch r := rng.IntN(10); {
		case r < 5:
			add(t, warden.EventLike, user(a), post(int(zipf.Uint64())), warden.TargetContent)
		case r < 6:
			add(t, warden.EventFollow, user(a), user(int(zipf.Uint64())), warden.TargetAccount)
		case r < 7:
			add(t, warden.EventShare, user(a), post(int(zipf.Uint64())), warden.TargetContent)
		case r < 9:
			add(t, warden.EventComment, user(a), post(int(zipf.Uint64())), warden.TargetContent)
		default:
			add(t, warden.EventLogin, user(a), "", "")
		}
	}
	// Creator drops: a popular account posts three times in two minutes and
	// each of its engaged fans likes each post with probability one half,
	// within ninety seconds.
	for d := 0; d < cfg.Drops; d++ {
		at := cfg.Start.Add(time.Duration(rng.Float64() * float64(cfg.Duration)))
		creator := rng.IntN(100)
		fans := make([]int, 50+rng.IntN(150))
		for i := range fans {
			fans[i] = active()
		}
		for p := 0; p < 3; p++ {
			pt := at.Add(time.Duration(rng.IntN(120)) * time.Second)
			target := "drop" + strconv.Itoa(d) + "-" + strconv.Itoa(creator) + "-" + strconv.Itoa(p)
			for _, f := range fans {
				if rng.IntN(2) == 0 {
					add(pt.Add(time.Duration(rng.Float64()*90*float64(time.Second))), warden.EventLike, user(f), target, warden.TargetContent)
				}
			}
		}
	}
	// Lockstep campaigns, on fresh accounts.
	next := cfg.Accounts
	for c := 0; c < cfg.Campaigns; c++ {
		name := "lockstep" + strconv.Itoa(c)
		at := cfg.Start.Add(time.Duration(float64(c+1) / float64(cfg.Campaigns+1) * float64(cfg.Duration)))
		members := make([]string, cfg.Members+rng.IntN(cfg.Members+1))
		for i := range members {
			members[i] = user(next)
			next++
			truth.Member[members[i]] = name
		}
		first := time.Time{}
		for k := 0; k < cfg.Targets; k++ {
			tt := at.Add(time.Duration(k) * cfg.Pace)
			typ, target, kind := warden.EventLike, post(int(zipf.Uint64())), warden.TargetContent
			if rng.IntN(3) == 0 {
				typ, target, kind = warden.EventFollow, user(rng.IntN(cfg.Accounts)), warden.TargetAccount
			}
			for _, m := range members {
				t := tt.Add(time.Duration(rng.Float64() * float64(cfg.Jitter)))
				if first.IsZero() || t.Before(first) {
					first = t
				}
				add(t, typ, m, target, kind)
			}
		}
		truth.Start[name] = first
	}
	slices.SortStableFunc(evs, func(a, b warden.Event) int { return a.Time.Compare(b.Time) })
	return evs, truth
}

// LockstepReport measures lockstep detection against ground truth.
type LockstepReport struct {
	Members       int     `json:"members"`         // campaign accounts
	FlaggedInTime int     `json:"flagged_in_time"` // members flagged within Deadline of their campaign's start
	Flagged       int     `json:"flagged"`         // distinct accounts flagged at any time
	FalseFlagged  int     `json:"false_flagged"`   // of those, not campaign members
	Recall        float64 `json:"recall"`          // FlaggedInTime / Members
	Precision     float64 `json:"precision"`       // (Flagged - FalseFlagged) / Flagged
	MedianDelayS  float64 `json:"median_delay_s"`  // from campaign start to a member's first flag
}

// LockstepFlagGroup is the lockstep group size at which an account counts
// as flagged in LockstepReport (and the built-in rule pack's suggestion).
const LockstepFlagGroup = 8

// EvalLockstep replays events through s in order and reports how many
// campaign members (member maps actor → campaign; start maps campaign →
// first event time) reach a lockstep group of at least minGroup within
// deadline of their campaign's start, and how many others do.
func EvalLockstep(s *Set, events []warden.Event, member map[string]string, start map[string]time.Time, minGroup int, deadline time.Duration) LockstepReport {
	var r LockstepReport
	flagged := map[string]bool{}
	var delays []float64
	members := map[string]bool{}
	for a := range member {
		members[a] = true
	}
	r.Members = len(members)
	for i := range events {
		ev := &events[i]
		f := s.Observe(ev)
		if f.LockstepGroup < minGroup || flagged[ev.Actor] {
			continue
		}
		flagged[ev.Actor] = true
		c, ok := member[ev.Actor]
		if !ok {
			r.FalseFlagged++
			continue
		}
		d := ev.Time.Sub(start[c])
		delays = append(delays, d.Seconds())
		if d <= deadline {
			r.FlaggedInTime++
		}
	}
	r.Flagged = len(flagged)
	if r.Members > 0 {
		r.Recall = float64(r.FlaggedInTime) / float64(r.Members)
	}
	if r.Flagged > 0 {
		r.Precision = float64(r.Flagged-r.FalseFlagged) / float64(r.Flagged)
	}
	if len(delays) > 0 {
		sort.Float64s(delays)
		r.MedianDelayS = delays[len(delays)/2]
	}
	return r
}
