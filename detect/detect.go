// Package detect holds Warden's built-in detectors: the bot-likeness model,
// timing, near-duplicate text, coordinated (lockstep) behaviour and linked
// accounts. The engine calls Observe once per event and exposes the result to
// rules as features.
package detect

import (
	"cmp"
	"math"
	"slices"
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
	// BotKnown is false until the platform has sent the actor's profile
	// counts (followers_count, friends_count or statuses_count in attrs):
	// the model learned from profiles that have them, and behaviour alone
	// scored most ordinary synthetic accounts above 0.9, so without them
	// BotScore stays 0.
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
	// same target to count as acting together (default 20s).
	LockstepWindow time.Duration
	// LockstepTargets is how many distinct shared targets make two accounts
	// lockstep partners (default 3; at most 7, since an account remembers
	// its last 6 targets besides the current one).
	LockstepTargets int
	// LockstepSpan is the longest gap between two accounts' successive
	// co-actions that still continues one run of lockstep (default 3m); an
	// account's partners are counted for twice this after the last new one.
	LockstepSpan time.Duration
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
	// HashSeed, when non-zero, makes the detectors' hashing the same in
	// every process, so replays and evaluations repeat exactly. Zero (for
	// serving) seeds it at random, so identifiers cannot be chosen to
	// collide.
	HashSeed uint64
}

func (c *Config) defaults() {
	if c.LockstepWindow <= 0 {
		c.LockstepWindow = 20 * time.Second
	}
	if c.LockstepTargets <= 0 {
		c.LockstepTargets = 3
	}
	c.LockstepTargets = min(c.LockstepTargets, MaxLockstepTargets)
	if c.LockstepSpan <= 0 {
		c.LockstepSpan = 3 * time.Minute
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

// MaxLockstepTargets is the largest LockstepTargets: an account remembers
// its last recentN targets besides the current one.
const MaxLockstepTargets = recentN + 1

// Set runs the built-in detectors. A nil *Set observes nothing. All state is
// kept by event time in bounded maps; there is no goroutine per key.
type Set struct {
	// The mutex and the fields written under it on every event share one
	// cache line (dup starts with its counters): the other fields are only
	// read after New, so their lines stay in both cores' caches instead of
	// moving to whichever core last wrote a neighbour.
	mu      sync.Mutex
	now     int64  // latest event time seen (Unix seconds)
	touched uint64 // keeps Observe's early loads from being optimised away
	seq     uint32
	dup     dupText

	cfg   Config
	model *model.Model
	h     hasher
	accts *gen[*account]
	lock  lockstep
	links linker
	// Pads Set to a multiple of 64 bytes: the allocator then places it at
	// the start of a cache line, and mu's line holds the fields above.
	_ [40]byte
}

// account is the per-actor state. The fields most events touch come first,
// so they share a cache line or two.
type account struct {
	// mu guards the profile, behaviour and score fields (from dirty to
	// scoredAt, reasons, beh and prof): Observe takes it under the Set's
	// lock and scores after releasing that. The lockstep and link fields
	// are the Set lock's.
	mu        sync.Mutex
	id        uint32
	dirty     bool // profile changed since the last score
	hasCounts bool // prof.HasCounts(), kept up to date with prof
	dated     bool // prof.CreatedAt is known; it is created, in Unix seconds
	firstSeen int64
	created   int64
	sinceN    int   // actions since the last score
	actions   int   // actions seen
	scoredAt  int64 // event time of the last score
	score     float64
	// the account's node in the linker's current epoch, and the identifiers
	// it was last linked with (XOR of their keys)
	linkUF   *uf
	linkNode int32
	linkSig  uint64
	// the account's node in the linker's previous epoch prevUF (-1: none)
	prevUF   *uf
	prevNode int32
	reasons  []string // shared with callers, so replaced, never modified
	beh      model.Behavior
	prof     model.Profile
}

// New returns a Set with cfg. It panics only if the built-in model is
// corrupt, which the package's tests rule out.
func New(cfg Config) *Set {
	cfg.defaults()
	s := &Set{cfg: cfg, h: newHasher(cfg.HashSeed)}
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
	s.lock.init(cfg)
	s.dup.init(cfg)
	s.links.init(cfg)
	return s
}

// eventKeys is what Observe derives from the event alone: hashes, the text's
// signature and the behaviour Action. It is computed before the lock is
// taken, so concurrent callers overlap this part.
type eventKeys struct {
	acct, target uint64
	acted        bool // the event acts on target, so it counts for lockstep
	act          model.Action
	mh           minHasher
	bands        [bands]uint64 // LSH band keys of mh.sig when act.Hash != 0
	ids          [4]uint64     // identifier keys (identifiers), nIDs of them
	nIDs         int
	idSig        uint64    // XOR of the identifier keys
	prof         profAttrs // which profile attrs the event has
}

// profAttrs says which of model.Profile.Merge's attrs an event has, so
// that Merge (and the profile's cache line) is skipped for the many events
// whose attrs cannot change the profile.
type profAttrs uint8

const (
	profNone    profAttrs = iota
	profCreated           // only the creation time, which Merge sets once
	profOther             // at least one other profile attr
)

// profileAttr maps the attrs model.Profile.Merge reads (its ProfileColumns
// and account_created, another platform's name for created_at) to what
// they are.
var profileAttr = func() map[string]profAttrs {
	m := map[string]profAttrs{"account_created": profCreated}
	for _, c := range model.ProfileColumns {
		m[c] = profOther
	}
	m["created_at"] = profCreated
	return m
}()

func (s *Set) keys(ev *warden.Event, k *eventKeys) {
	k.acct = s.h.key('a', ev.Actor)
	if ev.Target != "" && ev.Type != warden.EventView {
		k.target, k.acted = s.h.key('t', ev.Target), true
	}
	k.mh.reset()
	k.act = model.ActionOfText(ev, k.mh.add)
	if k.act.Hash != 0 { // SimHash is 0 for texts too short to compare
		bandKeys(&k.mh.sig, &k.bands)
	}
	// One pass over the attrs finds the identifiers and the profile attrs.
	var email, phone bool
	for name := range ev.Attrs {
		switch name {
		case "email":
			email = true
		case "phone":
			phone = true
		default:
			k.prof = max(k.prof, profileAttr[name])
		}
	}
	k.nIDs = len(identifiers(s.h, ev, email, phone, k.ids[:0]))
	for _, id := range k.ids[:k.nIDs] {
		k.idSig ^= id
	}
}

// Observe updates the detectors with ev and returns what they know of its
// actor. It is safe for concurrent use.
func (s *Set) Observe(ev *warden.Event) Features {
	if s == nil || ev == nil {
		return Features{}
	}
	t := ev.Time.Unix()
	var k eventKeys
	s.keys(ev, &k)
	s.mu.Lock()
	if t > s.now {
		s.now = t
		s.accts.tick(t)
		s.dup.tick(t)
		s.links.tick(t)
	}
	// Start the table loads that do not depend on the account, so their
	// cache misses overlap with the account lookup's instead of following
	// them one at a time.
	s.touched ^= s.lock.touch(k.acct, k.target, k.acted)
	if k.act.Hash != 0 {
		s.touched ^= s.dup.touch(&k.bands)
	}
	a := s.account(k.acct, t)
	// Start loading the account's lines too (a.id is beside a.mu, linkSig
	// among the link fields), so that their misses overlap with lockstep's
	// rather than stall a.mu.Lock, which lets no later load start before
	// its own completes.
	s.touched ^= uint64(a.id) ^ a.linkSig ^ s.links.touch(a)
	if k.act.Hash != 0 {
		s.touched ^= s.dup.touchRing(&k.bands)
	}
	var f Features
	if k.acted {
		var x uint64
		f.LockstepGroup, x = s.lock.observe(k.acct, k.target, t)
		s.touched ^= x
	} else {
		f.LockstepGroup = s.lock.group(k.acct, t)
	}
	if k.act.Hash != 0 {
		f.DupTextAccounts, f.DupTextClusterAgeSeconds = s.dup.observe(a.id, &k.mh.sig, &k.bands, t)
	}
	a.lockMerge(ev, k.prof)
	isNew := t-a.firstSeen < newAccountAge
	if a.dated {
		isNew = t-a.created < newAccountAge
	}
	f.LinkedAccounts, f.LinkedNewShare, f.ClusterAgeSeconds = s.links.observe(k.ids[:k.nIDs], k.idSig, a, isNew, t)
	s.mu.Unlock()
	// The rest reads and writes only the account's own behaviour and score,
	// under the account's lock, which lockMerge took before the Set's was
	// released: one account's events still go through in the Set's order,
	// and scoring one account does not hold up the others.
	a.beh.Add(k.act)
	a.sinceN++
	s.botScore(a, t, &f)
	a.mu.Unlock()
	return f
}

// account returns the actor's account, creating it if new.
func (s *Set) account(k uint64, t int64) *account {
	a, ok := s.accts.get(k)
	if !ok {
		s.seq++
		a = &account{id: s.seq, firstSeen: t, prof: model.NewProfile()}
		s.accts.put(k, a)
	}
	return a
}

// lockMerge locks account a and merges ev's profile attributes (prof says
// which it has) into it. Merge is called only when it can change the
// profile: when the event has a profile attr other than the creation time,
// or the account's creation time is not known yet (a.dated) and the event
// is a signup or has it.
func (a *account) lockMerge(ev *warden.Event, prof profAttrs) {
	a.mu.Lock()
	if prof == profOther || !a.dated && (prof == profCreated || ev.Type == warden.EventSignup) {
		if a.prof.Merge(ev) {
			a.dirty = true
			a.hasCounts = a.prof.HasCounts()
			a.dated = !a.prof.CreatedAt.IsZero()
			a.created = a.prof.CreatedAt.Unix()
		}
	}
}

// scratch holds botScore's buffers; callers score concurrently.
type scratch struct{ vec, contrib []float64 }

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// botScore refreshes the actor's score when enough has changed. Scoring is
// a few hundred tree lookups, so it is redone only when the profile changes,
// when the actor's action count reaches 5, 16 or 64 and every 256 actions
// after that, or after a day of event time (its age moves); the
// cached score is returned in between.
func (s *Set) botScore(a *account, t int64, f *Features) {
	if s.model == nil {
		return
	}
	a.actions++
	if !a.hasCounts {
		return
	}
	n := a.actions
	due := n == 5 || n == 16 || n == 64 || a.sinceN >= 256
	if a.dirty || due || t-a.scoredAt >= 86400 {
		sc := scratchPool.Get().(*scratch)
		sc.vec = model.Vector(&a.prof, &a.beh, time.Unix(t, 0), sc.vec)
		if len(sc.contrib) < len(sc.vec) {
			sc.contrib = make([]float64, len(sc.vec))
		}
		var rs []model.Reason
		a.score, rs = s.model.ScoreExplain(sc.vec, 3, sc.contrib)
		scratchPool.Put(sc)
		// A new slice each time: callers may keep the one they were given.
		a.reasons = nil
		for _, r := range rs {
			a.reasons = append(a.reasons, r.Text)
		}
		a.dirty, a.sinceN, a.scoredAt = false, 0, t
	}
	f.BotKnown = true
	f.BotScore = math.Round(a.score*1000) / 1000
	f.BotReasons = a.reasons
}

// Stats reports the sizes of the detectors' state, for metrics and for
// checking that memory stays bounded.
type Stats struct {
	// Lockstep and text-bucket state live in fixed-size tables, not counted.
	Accounts, TextClusters, LinkNodes int
}

// Stats returns the current state sizes.
func (s *Set) Stats() Stats {
	if s == nil {
		return Stats{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Accounts: s.accts.len(), TextClusters: s.dup.clusters.len(), LinkNodes: s.links.nodes()}
}

// accountsByID returns every account, in id order (for tests).
func (s *Set) accountsByID() []*account {
	var out []*account
	for _, m := range []map[uint64]*account{s.accts.prev, s.accts.cur} {
		for _, a := range m {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b *account) int { return cmp.Compare(a.id, b.id) })
	return out
}
