// Package detect holds Warden's built-in detectors: the bot-likeness model,
// timing, near-duplicate text, coordinated (lockstep) behaviour and linked
// accounts. The engine calls Observe once per event and exposes the result to
// rules as features.
package detect

import (
	"hash/maphash"
	"math"
	"sync"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/model"
)

// Features are what the built-in detectors know about an event's actor at the
// event's time. Rules read them (for example detect.bot_score).
type Features struct {
	BotScore          float64  // bot-likeness of the actor, 0..1 (0 while BotKnown is false)
	BotReasons        []string // the model features that drove BotScore, in words
	DupTextAccounts   int      // distinct accounts that recently posted near-duplicate text, this one included
	LockstepGroup     int      // accounts acting on the same targets in lockstep with the actor; 0 if none
	LinkedAccounts    int      // accounts linked to the actor by device, IP, email or phone, the actor included
	LinkedNewShare    float64  // share of the linked accounts first seen in the last 7 days
	ClusterAgeSeconds float64  // event-time age of the actor's linked cluster
	// BotKnown is false until the detectors know something about the actor
	// (a profile attribute, its creation time or five actions): an empty
	// profile is not evidence either way, so BotScore stays 0.
	BotKnown bool
	// DupTextClusterAgeSeconds is the event-time age of the near-duplicate
	// text cluster the event's text joined (0 when DupTextAccounts is 0).
	DupTextClusterAgeSeconds float64
}

// Config tunes a Set. The zero value gives the documented defaults.
type Config struct {
	// Model scores bot-likeness; nil means the built-in model. NoModel turns
	// scoring off (BotScore stays 0).
	Model   *model.Model
	NoModel bool
	// LockstepWindow is how close in event time two accounts must act on the
	// same target to count as acting together (default 60s).
	LockstepWindow time.Duration
	// LockstepTargets is how many distinct shared targets make two accounts
	// lockstep partners (default 2).
	LockstepTargets int
	// DupWindow is how long a text stays comparable (default 1h).
	DupWindow time.Duration
	// LinkWindow is how long identifier links are remembered (default 7 days;
	// links are kept for one to two windows).
	LinkWindow time.Duration
	// MaxAccounts bounds per-account state (default 1,000,000 per generation).
	MaxAccounts int
	// MaxLinksPerKey stops an identifier shared by this many accounts from
	// linking more of them (default 200): a carrier NAT or a café's IP would
	// otherwise chain the whole platform into one cluster.
	MaxLinksPerKey int
}

func (c *Config) defaults() {
	if c.LockstepWindow <= 0 {
		c.LockstepWindow = 60 * time.Second
	}
	if c.LockstepTargets <= 0 {
		c.LockstepTargets = 2
	}
	if c.DupWindow <= 0 {
		c.DupWindow = time.Hour
	}
	if c.LinkWindow <= 0 {
		c.LinkWindow = 7 * 24 * time.Hour
	}
	if c.MaxAccounts <= 0 {
		c.MaxAccounts = 1_000_000
	}
	if c.MaxLinksPerKey <= 0 {
		c.MaxLinksPerKey = 200
	}
}

// newAccountAge is how young an account must be to count as new.
const newAccountAge = 7 * 86400

// Set runs the built-in detectors. A nil *Set observes nothing. All state is
// kept by event time in bounded maps; there is no goroutine per key.
type Set struct {
	mu    sync.Mutex
	cfg   Config
	model *model.Model
	h     hasher
	now   int64 // latest event time seen (Unix seconds)
	seq   uint32

	accts *gen[*account]
	lock  lockstep
	dup   dupText
	links linker
	vec   []float64
}

// account is the per-actor state.
type account struct {
	id        uint32
	firstSeen int64
	prof      model.Profile
	beh       model.Behavior
	profSet   bool
	dirty     bool  // profile changed since the last score
	sinceN    int   // actions since the last score
	scoredAt  int64 // event time of the last score
	score     float64
	reasons   []string
	// lockstep partners: accounts that shared LockstepTargets targets with
	// this one, counted since partnersFrom.
	partners     int
	partnersLast int64
}

// New returns a Set with cfg. It panics only if the built-in model is
// corrupt, which the package's tests rule out.
func New(cfg Config) *Set {
	cfg.defaults()
	s := &Set{cfg: cfg, h: hasher{seed: maphash.MakeSeed()}}
	if !cfg.NoModel {
		s.model = cfg.Model
		if s.model == nil {
			m, err := DefaultModel()
			if err != nil {
				panic(err)
			}
			s.model = m
		}
	}
	s.accts = newGen[*account](30*86400, cfg.MaxAccounts)
	s.lock.init(cfg, s.h)
	s.dup.init(cfg)
	s.links.init(cfg)
	return s
}

// Observe updates the detectors with ev and returns what they know of its
// actor. It is safe for concurrent use.
func (s *Set) Observe(ev *warden.Event) Features {
	if s == nil || ev == nil {
		return Features{}
	}
	t := ev.Time.Unix()
	s.mu.Lock()
	defer s.mu.Unlock()
	if t > s.now {
		s.now = t
		s.accts.tick(t)
		s.lock.tick(t)
		s.dup.tick(t)
		s.links.tick(t)
	}
	a := s.account(ev, t)
	var f Features
	if ev.Target != "" && ev.Type != warden.EventView {
		f.LockstepGroup = s.lock.observe(a, ev.Target, t)
	} else if a.partners > 0 && t-a.partnersLast <= lockstepTTL {
		f.LockstepGroup = a.partners + 1
	}
	act := model.ActionOf(ev)
	if act.Hash != 0 {
		f.DupTextAccounts, f.DupTextClusterAgeSeconds = s.dup.observe(a.id, act.Hash, t)
	}
	isNew := t-a.firstSeen < newAccountAge
	if !a.prof.CreatedAt.IsZero() {
		isNew = t-a.prof.CreatedAt.Unix() < newAccountAge
	}
	f.LinkedAccounts, f.LinkedNewShare, f.ClusterAgeSeconds = s.links.observe(s.h, ev, a.id, isNew, t)
	a.beh.Add(act)
	a.sinceN++
	s.botScore(a, t, &f)
	return f
}

func (s *Set) account(ev *warden.Event, t int64) *account {
	k := s.h.key('a', ev.Actor)
	a, ok := s.accts.get(k)
	if !ok {
		s.seq++
		a = &account{id: s.seq, firstSeen: t, prof: model.NewProfile()}
		s.accts.put(k, a)
	}
	if ev.Type == warden.EventSignup || hasProfileAttr(ev) {
		before := a.prof
		a.prof.Merge(ev)
		// synth and some platforms call the creation time account_created.
		if a.prof.CreatedAt.IsZero() {
			if v := ev.Attr("account_created"); v != "" {
				_ = a.prof.Set("created_at", v)
			}
		}
		if !sameProfile(&before, &a.prof) {
			a.dirty, a.profSet = true, true
		}
	}
	return a
}

var profileAttrs = func() map[string]bool {
	m := map[string]bool{"account_created": true}
	for _, c := range model.ProfileColumns {
		m[c] = true
	}
	return m
}()

func hasProfileAttr(ev *warden.Event) bool {
	for k := range ev.Attrs {
		if profileAttrs[k] {
			return true
		}
	}
	return false
}

// sameProfile compares profiles treating NaN as equal to NaN.
func sameProfile(a, b *model.Profile) bool {
	fa := [...]float64{a.Followers, a.Friends, a.Statuses, a.Favourites, a.Listed}
	fb := [...]float64{b.Followers, b.Friends, b.Statuses, b.Favourites, b.Listed}
	for i := range fa {
		if math.Float64bits(fa[i]) != math.Float64bits(fb[i]) {
			return false
		}
	}
	x, y := *a, *b
	x.Followers, x.Friends, x.Statuses, x.Favourites, x.Listed = 0, 0, 0, 0, 0
	y.Followers, y.Friends, y.Statuses, y.Favourites, y.Listed = 0, 0, 0, 0, 0
	return x == y
}

// botScore refreshes the actor's score when enough has changed. Scoring is
// a few hundred tree lookups, so it is redone when the profile changes, on
// the actor's 1st…8th action, then every 8 actions or hour of event time,
// not on every event; the cached score is returned in between.
func (s *Set) botScore(a *account, t int64, f *Features) {
	if s.model == nil {
		return
	}
	known := a.profSet || a.beh.N >= 5
	if !known {
		return
	}
	if a.dirty || a.sinceN >= 8 || a.beh.N <= 8 || t-a.scoredAt >= 3600 {
		s.vec = model.Vector(&a.prof, &a.beh, time.Unix(t, 0), s.vec)
		a.score = s.model.Score(s.vec)
		a.reasons = a.reasons[:0]
		if a.score >= 0.5 {
			for _, r := range s.model.Explain(s.vec, 3) {
				a.reasons = append(a.reasons, r.Text)
			}
		}
		a.dirty, a.sinceN, a.scoredAt = false, 0, t
	}
	f.BotKnown = true
	f.BotScore = math.Round(a.score*1000) / 1000
	if len(a.reasons) > 0 {
		f.BotReasons = append([]string(nil), a.reasons...)
	}
}

// Stats reports the sizes of the detectors' state, for metrics and for
// checking that memory stays bounded.
type Stats struct {
	Accounts, Targets, Pairs, TextBuckets, TextClusters, LinkNodes int
}

// Stats returns the current state sizes.
func (s *Set) Stats() Stats {
	if s == nil {
		return Stats{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Accounts: s.accts.len(), Targets: s.lock.targets.len(), Pairs: s.lock.pairs.len(),
		TextBuckets: s.dup.buckets.len(), TextClusters: s.dup.clusters.len(), LinkNodes: s.links.nodes()}
}
