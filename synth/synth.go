// Package synth generates a deterministic, seeded stream of platform events:
// a population of ordinary accounts going about their day, with injected bot
// campaigns (follow and like farms, signup bursts sharing an IP, a /24 or a
// device, copy-paste scam waves, credential stuffing, account takeover and a
// coordinated lockstep campaigns, fast and drip-fed), and honest crowds that
// look like coordination (creator drops). Every event comes with its ground truth, so
// detection quality can be measured; the same seed always yields the same
// events, so benchmarks and replays are comparable run to run.
package synth

import (
	"container/heap"
	"context"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/wardenhq/warden"
)

// Campaign kinds injected by the generator.
const (
	FollowFarm         = "follow_farm"
	LikeFarm           = "like_farm"
	SignupBurstIP      = "signup_burst_ip"
	SignupBurstSubnet  = "signup_burst_subnet"
	SignupBurstDevice  = "signup_burst_device"
	ScamWave           = "scam_wave"
	CredentialStuffing = "credential_stuffing"
	AccountTakeover    = "account_takeover"
	Lockstep           = "lockstep"
	// LockstepDrip is a lockstep crowd that spaces its targets 30 s to 3 min
	// apart instead of seconds: slower to prove, since lockstep evidence is
	// several shared targets.
	LockstepDrip = "lockstep_drip"
)

// Campaigns lists every campaign kind, in the order the generator cycles
// through them.
var Campaigns = []string{FollowFarm, SignupBurstIP, ScamWave, CredentialStuffing, LikeFarm,
	SignupBurstSubnet, Lockstep, AccountTakeover, SignupBurstDevice, LockstepDrip}

// Config shapes a workload. The zero value of every field has a sensible
// default.
type Config struct {
	Seed     int64
	Start    time.Time     // event time of the first event; zero means 2026-01-05T00:00:00Z
	Accounts int           // ordinary accounts existing at Start; 0 means 20,000
	Rate     float64       // ordinary events per second of event time; 0 means 200
	Every    time.Duration // mean event-time gap between campaign starts; 0 means 2m, negative means no campaigns
	Kinds    []string      // campaign kinds to inject; nil means all of Campaigns
	// Drops is the mean event-time gap between creator drops: a popular
	// account posts three times within two minutes and its fans pile in,
	// the honest crowd that looks most like lockstep. 0 means 5m, negative
	// means none.
	Drops time.Duration
	// CrowdSpread is how long a lockstep crowd's members take, at most,
	// to all act on one target: each launch draws its spread between a
	// quarter of it and it. 0 means the members act within 5 to 20 s.
	CrowdSpread time.Duration
}

// Truth is the ground truth of one event: which campaign produced it ("" for
// ordinary activity), which launch of that campaign (Run counts launches
// from 1, 0 for ordinary activity) and whether a bot or attacker performed
// it.
type Truth struct {
	Campaign string
	Bot      bool
	Run      int
}

// RunKey names the campaign launch an event belongs to, such as
// "lockstep#7"; "" for ordinary activity.
func (t Truth) RunKey() string {
	if t.Campaign == "" {
		return ""
	}
	return t.Campaign + "#" + strconv.Itoa(t.Run)
}

// Generator produces events in event-time order. It is not safe for
// concurrent use.
type Generator struct {
	cfg    Config
	rng    *rand.Rand
	zipf   *rand.Zipf // popularity of accounts as follow targets
	now    time.Time
	seq    uint64 // event ids
	pushes uint64 // tie-break for equal times, for determinism
	q      sourceHeap
	// created holds each account's creation time (unix seconds), indexed by
	// account number; accounts past cfg.Accounts were created during the run.
	created []int64
	// truth maps campaign-controlled actors to their campaign.
	truth    map[string]Truth
	nextKind int
	nextPost int
	stopped  bool // no new campaigns
	inFlight int  // campaign scripts with events still to come
}

type item struct {
	ev    warden.Event
	truth Truth
}

// source is a pending stream of events: either the ordinary population, the
// campaign launcher, or one scripted sequence (a campaign or an onboarding).
type source struct {
	at     time.Time
	order  uint64
	kind   int // srcOrganic, srcLaunch, srcScript
	camp   bool
	script []item
	i      int
}

const (
	srcOrganic = iota
	srcLaunch
	srcScript
	srcDrop
)

type sourceHeap []*source

func (h sourceHeap) Len() int { return len(h) }
func (h sourceHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].order < h[j].order
}
func (h sourceHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *sourceHeap) Push(x any)   { *h = append(*h, x.(*source)) }
func (h *sourceHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// New returns a generator for cfg.
func New(cfg Config) *Generator {
	if cfg.Start.IsZero() {
		cfg.Start = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	}
	if cfg.Accounts <= 0 {
		cfg.Accounts = 20000
	}
	if cfg.Rate <= 0 {
		cfg.Rate = 200
	}
	if cfg.Every == 0 {
		cfg.Every = 2 * time.Minute
	}
	if cfg.Kinds == nil {
		cfg.Kinds = Campaigns
	}
	if cfg.Drops == 0 {
		cfg.Drops = 5 * time.Minute
	}
	cfg.Start = cfg.Start.UTC()
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x57415244454e))
	g := &Generator{
		cfg:      cfg,
		rng:      rng,
		zipf:     rand.NewZipf(rng, 1.2, 4, uint64(cfg.Accounts-1)),
		now:      cfg.Start,
		truth:    map[string]Truth{},
		created:  make([]int64, cfg.Accounts, cfg.Accounts+cfg.Accounts/4),
		nextPost: cfg.Accounts * 10,
	}
	for i := range g.created {
		// Existing accounts are 10 days to 6 years old.
		age := 10*86400 + g.rng.Int64N(6*365*86400)
		g.created[i] = cfg.Start.Unix() - age
	}
	g.push(&source{at: cfg.Start, kind: srcOrganic})
	if cfg.Every > 0 && len(cfg.Kinds) > 0 {
		g.push(&source{at: cfg.Start.Add(g.expDur(cfg.Every) / 4), kind: srcLaunch})
	}
	if cfg.Drops > 0 {
		g.push(&source{at: cfg.Start.Add(g.expDur(cfg.Drops)), kind: srcDrop})
	}
	return g
}

func (g *Generator) push(s *source) {
	g.pushes++
	s.order = g.pushes
	heap.Push(&g.q, s)
}

// Account reports the ground truth of an actor: the campaign that controls
// it, with Bot set, or the zero Truth for an ordinary account. Accounts taken
// over by an attacker report the takeover campaign with Bot false, since the
// account itself is genuine.
func (g *Generator) Account(actor string) Truth {
	return g.truth[actor]
}

// Next returns the next event in event-time order and its ground truth.
func (g *Generator) Next() (warden.Event, Truth) {
	for {
		s := g.q[0]
		g.now = s.at
		switch s.kind {
		case srcOrganic:
			ev := g.organic(s.at)
			s.at = s.at.Add(g.expDur(time.Duration(float64(time.Second) / g.cfg.Rate)))
			heap.Fix(&g.q, 0)
			if ev.Type != "" {
				return g.stamp(ev), Truth{}
			}
		case srcLaunch:
			if !g.stopped {
				g.launch(s.at)
			}
			s.at = s.at.Add(g.expDur(g.cfg.Every))
			heap.Fix(&g.q, 0)
		case srcDrop:
			g.drop(s.at)
			s.at = s.at.Add(g.expDur(g.cfg.Drops))
			heap.Fix(&g.q, 0)
		case srcScript:
			it := s.script[s.i]
			s.i++
			if s.i == len(s.script) {
				heap.Pop(&g.q)
				if s.camp {
					g.inFlight--
				}
			} else {
				s.at = s.script[s.i].ev.Time
				heap.Fix(&g.q, 0)
			}
			return g.stamp(it.ev), it.truth
		}
	}
}

func (g *Generator) stamp(ev warden.Event) warden.Event {
	g.seq++
	ev.ID = "e" + strconv.FormatUint(g.seq, 10)
	return ev
}

// Collect returns cfg's workload with each event's truth: d of event time,
// then, with no new campaign launched, ordinary traffic until the campaigns
// under way have played out, so that no campaign is cut short (as warden
// bench does).
func Collect(cfg Config, d time.Duration) ([]warden.Event, []Truth) {
	g := New(cfg)
	var evs []warden.Event
	var truths []Truth
	var end time.Time
	for {
		ev, tr := g.Next()
		if end.IsZero() {
			end = ev.Time.Add(d)
		}
		if ev.Time.After(end) {
			g.StopCampaigns()
			if g.CampaignsInFlight() == 0 {
				return evs, truths
			}
		}
		evs = append(evs, ev)
		truths = append(truths, tr)
	}
}

// Pace calls fn with each event of g so that event time tracks the wall
// clock: an event is handed over when as much wall time has passed since the
// call as event time has since the first event, scaled by speed (2 = twice
// as fast as real time). Each event's Time is rewritten to the wall-clock
// instant it is handed over, so a live server sees current events. Pace
// returns when ctx is done or fn returns an error.
func Pace(ctx context.Context, g *Generator, speed float64, fn func(warden.Event, Truth) error) error {
	if speed <= 0 {
		speed = 1
	}
	wall0 := time.Now()
	var ev0 time.Time
	for {
		ev, tr := g.Next()
		if ev0.IsZero() {
			ev0 = ev.Time
		}
		due := wall0.Add(time.Duration(float64(ev.Time.Sub(ev0)) / speed))
		if d := time.Until(due); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		} else if err := ctx.Err(); err != nil {
			return err
		}
		ev.Time = time.Now().UTC()
		if err := fn(ev, tr); err != nil {
			return err
		}
	}
}

func (g *Generator) expDur(mean time.Duration) time.Duration {
	return time.Duration(g.rng.ExpFloat64() * float64(mean))
}

func (g *Generator) between(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(g.rng.Int64N(int64(hi-lo)+1))
}

// newAccount allocates an account created at t.
func (g *Generator) newAccount(t time.Time) int {
	g.created = append(g.created, t.Unix())
	return len(g.created) - 1
}

func acct(i int) string { return "u" + strconv.Itoa(i) }

func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// The per-account traits below derive from a hash of the account number and
// the seed, so they need no storage and stay stable through the run.
func (g *Generator) trait(i int, salt uint64) uint64 {
	return mix(uint64(i)*0x100000001b3 ^ salt ^ uint64(g.cfg.Seed)<<1)
}

var residential = [...]int{24, 67, 68, 71, 73, 76, 81, 82, 86, 90, 98, 108, 174, 184, 189, 201}

func (g *Generator) homeIP(i int) string {
	h := g.trait(i, 1)
	if h%100 < 15 {
		// Mobile carrier NAT: a few hundred addresses shared by many accounts.
		return "100.64." + strconv.Itoa(int(h>>8)%4) + "." + strconv.Itoa(int(h>>16)%64+1)
	}
	if h%100 < 25 {
		// Households: neighbouring accounts share an address.
		i &^= 1
		h = g.trait(i, 1)
	}
	return ip4(residential[h>>8%uint64(len(residential))], int(h>>16)%256, int(h>>24)%256, int(h>>32)%254+1)
}

func ip4(a, b, c, d int) string {
	return strconv.Itoa(a) + "." + strconv.Itoa(b) + "." + strconv.Itoa(c) + "." + strconv.Itoa(d)
}

func (g *Generator) homeDevice(i int) string {
	return "d" + strconv.FormatUint(g.trait(i, 2)>>20, 36)
}

var countries = [...]string{"US", "US", "US", "US", "GB", "GB", "DE", "FR", "BR", "BR", "IN", "IN", "JP", "CA", "ES", "IT", "NL", "MX", "PL", "SE"}

func (g *Generator) homeCountry(i int) string {
	return countries[g.trait(i, 3)%uint64(len(countries))]
}

var browsers = [...]string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
	"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
	"WardenApp/5.2 (iOS 17.5; iPhone15,2)",
	"WardenApp/5.2 (Android 14; SM-S918B)",
}

var automation = [...]string{
	"python-requests/2.32.3", "Go-http-client/1.1", "curl/8.7.1",
	"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
	"Scrapy/2.11.2 (+https://scrapy.org)", "okhttp/4.12.0", "axios/1.7.7", "node-fetch/1.0",
}

func (g *Generator) homeUA(i int) string {
	return browsers[g.trait(i, 4)%uint64(len(browsers))]
}

// event builds an event for account i with its usual context.
func (g *Generator) event(t time.Time, typ string, i int) warden.Event {
	return warden.Event{
		Type: typ, Time: t, Actor: acct(i),
		IP: g.homeIP(i), Device: g.homeDevice(i), Country: g.homeCountry(i),
		Attrs: map[string]any{
			"user_agent":      g.homeUA(i),
			"account_created": time.Unix(g.created[i], 0).UTC().Format(time.RFC3339),
		},
	}
}

// popular picks an account by popularity (a few accounts are followed,
// liked and commented on far more than the rest).
func (g *Generator) popular() int { return int(g.zipf.Uint64()) }

func (g *Generator) post(owner int) string {
	return "p" + strconv.Itoa(owner) + "-" + strconv.Itoa(int(g.trait(owner, 5)%50)+g.rng.IntN(3))
}

var words = [...]string{"the", "a", "great", "day", "love", "this", "photo", "really", "nice", "city", "coffee",
	"weekend", "game", "last", "night", "so", "good", "music", "new", "album", "trip", "beach", "work", "today",
	"happy", "birthday", "thanks", "everyone", "cat", "dog", "dinner", "friends", "movie", "book", "reading",
	"running", "morning", "sunset", "team", "win", "project", "launch", "home", "garden", "rain", "snow"}

var phrases = [...]string{"congrats!", "love this", "so true", "haha", "beautiful", "amazing", "thank you!", "same here", "wow", "nice one"}

var goodLinks = [...]string{"https://en.wikipedia.org/wiki/Go", "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
	"https://github.com/golang/go", "https://news.ycombinator.com/", "https://www.bbc.co.uk/news"}

func (g *Generator) text() string {
	if g.rng.IntN(5) == 0 {
		return phrases[g.rng.IntN(len(phrases))]
	}
	n := 3 + g.rng.IntN(10)
	b := make([]byte, 0, n*7)
	for k := 0; k < n; k++ {
		if k > 0 {
			b = append(b, ' ')
		}
		b = append(b, words[g.rng.IntN(len(words))]...)
	}
	if g.rng.IntN(60) == 0 {
		b = append(b, ' ')
		b = append(b, goodLinks[g.rng.IntN(len(goodLinks))]...)
	}
	return string(b)
}

// friend returns one of the few accounts that account i ordinarily talks to.
func (g *Generator) friend(i int) int {
	return int(g.trait(i, 6+uint64(g.rng.IntN(12))) % uint64(g.cfg.Accounts))
}

// organic produces one ordinary event, or starts an onboarding script (then
// it returns the zero Event and the script's events follow).
func (g *Generator) organic(t time.Time) warden.Event {
	i := g.active()
	r := g.rng.IntN(1000)
	switch {
	case r < 300:
		return g.onPopular(t, warden.EventView, i, false)
	case r < 550:
		return g.onPopular(t, warden.EventLike, i, false)
	case r < 600:
		return g.onPopular(t, warden.EventFollow, i, true)
	case r < 610:
		return g.onPopular(t, warden.EventUnfollow, i, true)
	case r < 700:
		ev := g.onPopular(t, warden.EventComment, i, false)
		ev.Text = g.text()
		return ev
	case r < 730:
		ev := g.event(t, warden.EventPost, i)
		g.nextPost++
		ev.Target, ev.TargetKind = "p"+strconv.Itoa(g.nextPost), warden.TargetContent
		ev.Text = g.text()
		return ev
	case r < 760:
		return g.onPopular(t, warden.EventShare, i, false)
	case r < 850:
		ev := g.event(t, warden.EventMessage, i)
		ev.Target, ev.TargetKind = acct(g.friend(i)), warden.TargetAccount
		ev.Text = g.text()
		return ev
	case r < 930:
		return g.event(t, warden.EventLogin, i)
	case r < 945:
		// A mistyped password, sometimes from a phone on a different network.
		ev := g.event(t, warden.EventLoginFailed, i)
		return ev
	case r < 955:
		ev := g.event(t, warden.EventProfileUpdate, i)
		ev.Attrs["fields"] = [...]string{"bio", "avatar", "display_name", "bio", "email"}[g.rng.IntN(5)]
		return ev
	case r < 958:
		ev := g.event(t, warden.EventPasswordReset, i)
		return ev
	case r < 962:
		// Travel: a login from another country on the usual device.
		ev := g.event(t, warden.EventLogin, i)
		ev.Country = countries[g.rng.IntN(len(countries))]
		return ev
	case r < 964:
		g.onboard(t)
		return warden.Event{}
	default:
		return g.onPopular(t, warden.EventView, i, false)
	}
}

// active picks an ordinary account to act. Activity is heavy-tailed: a
// quarter of the accounts do most things.
func (g *Generator) active() int {
	i := g.rng.IntN(len(g.created))
	if g.rng.IntN(4) != 0 {
		i = g.rng.IntN(len(g.created)/4 + 1)
	}
	if _, bot := g.truth[acct(i)]; bot {
		i = g.rng.IntN(g.cfg.Accounts)
	}
	return i
}

// drop scripts a creator drop at t: one of the hundred most popular
// accounts posts three times within two minutes, and each of 50 to 200 of
// its fans likes each post with probability one half within ninety seconds
// of it. Fans of one creator thus share several targets within seconds, as
// a lockstep crowd does; they are ordinary accounts.
func (g *Generator) drop(t time.Time) {
	creator := g.rng.IntN(100)
	n := 50 + g.rng.IntN(151)
	fans := make([]int, 0, n)
	seen := map[int]bool{creator: true}
	for range n {
		if f := g.active(); !seen[f] {
			seen[f] = true
			fans = append(fans, f)
		}
	}
	var s []item
	for p := 0; p < 3; p++ {
		at := t.Add(g.between(0, 2*time.Minute))
		ev := g.event(at, warden.EventPost, creator)
		g.nextPost++
		post := "p" + strconv.Itoa(g.nextPost)
		ev.Target, ev.TargetKind = post, warden.TargetContent
		ev.Text = g.text()
		s = append(s, item{ev: ev})
		for _, f := range fans {
			if g.rng.IntN(2) == 0 {
				ev := g.event(at.Add(g.between(time.Second, 90*time.Second)), warden.EventLike, f)
				ev.Target, ev.TargetKind = post, warden.TargetContent
				s = append(s, item{ev: ev})
			}
		}
	}
	sortItems(s)
	g.push(&source{at: s[0].ev.Time, kind: srcScript, script: s})
}

// onPopular is an event by account i on a popular account, or on one of a
// popular account's posts.
func (g *Generator) onPopular(t time.Time, typ string, i int, account bool) warden.Event {
	ev := g.event(t, typ, i)
	if account {
		ev.Target, ev.TargetKind = acct(g.popular()), warden.TargetAccount
	} else {
		ev.Target, ev.TargetKind = g.post(g.popular()), warden.TargetContent
	}
	return ev
}

// onboard scripts an ordinary new account: a signup, then following a
// handful of suggested popular accounts within a few minutes, then a like or
// two.
func (g *Generator) onboard(t time.Time) {
	i := g.newAccount(t)
	var s []item
	s = append(s, item{ev: g.event(t, warden.EventSignup, i)})
	at := t
	for k := 3 + g.rng.IntN(10); k > 0; k-- {
		at = at.Add(g.between(3*time.Second, 40*time.Second))
		s = append(s, item{ev: g.onPopular(at, warden.EventFollow, i, true)})
	}
	for k := g.rng.IntN(4); k > 0; k-- {
		at = at.Add(g.between(10*time.Second, 3*time.Minute))
		s = append(s, item{ev: g.onPopular(at, warden.EventLike, i, false)})
	}
	g.push(&source{at: t, kind: srcScript, script: s})
}

var datacenter = [...]int{5, 23, 34, 45, 91, 104, 138, 139, 143, 159, 167, 185, 193, 194, 212}

func (g *Generator) dcSubnet() (a, b, c int) {
	return datacenter[g.rng.IntN(len(datacenter))], g.rng.IntN(256), g.rng.IntN(256)
}

func (g *Generator) dcIP() string {
	a, b, c := g.dcSubnet()
	return ip4(a, b, c, 1+g.rng.IntN(254))
}

func (g *Generator) randDevice() string {
	return "d" + strconv.FormatUint(g.rng.Uint64()>>20, 36)
}

// bot creates an account created at t and controlled by campaign tr.
func (g *Generator) bot(t time.Time, tr Truth) int {
	i := g.newAccount(t)
	g.truth[acct(i)] = tr
	return i
}

// botEvent is an event by bot i with the given network context.
func (g *Generator) botEvent(t time.Time, typ string, i int, ip, device, ua string) warden.Event {
	ev := g.event(t, typ, i)
	ev.IP, ev.Device = ip, device
	ev.Attrs["user_agent"] = ua
	return ev
}

func (g *Generator) ua(automationShare int) string {
	if g.rng.IntN(100) < automationShare {
		return automation[g.rng.IntN(len(automation))]
	}
	return browsers[g.rng.IntN(len(browsers))]
}

// launch starts the next campaign at t.
func (g *Generator) launch(t time.Time) {
	kind := g.cfg.Kinds[g.nextKind%len(g.cfg.Kinds)]
	g.nextKind++
	tr := Truth{Campaign: kind, Bot: true, Run: g.nextKind}
	var s []item
	add := func(ev warden.Event) { s = append(s, item{ev: ev, truth: tr}) }
	switch kind {
	case FollowFarm, LikeFarm:
		// Fresh accounts from datacenter addresses, each following (or
		// liking) far more than any person would, mostly the customer's
		// handful of targets plus some cover.
		customers := make([]int, 3+g.rng.IntN(5))
		for k := range customers {
			customers[k] = g.rng.IntN(g.cfg.Accounts)
		}
		ua := g.ua(50)
		for n := 15 + g.rng.IntN(25); n > 0; n-- {
			at := t.Add(g.between(0, 20*time.Minute))
			i := g.bot(at, tr)
			ip, dev := g.dcIP(), g.randDevice()
			add(g.botEvent(at, warden.EventSignup, i, ip, dev, ua))
			at = at.Add(g.between(30*time.Second, 5*time.Minute))
			for k := 30 + g.rng.IntN(50); k > 0; k-- {
				at = at.Add(g.between(2*time.Second, 12*time.Second))
				tgt := customers[g.rng.IntN(len(customers))]
				if g.rng.IntN(3) == 0 {
					tgt = g.popular()
				}
				if kind == FollowFarm {
					ev := g.botEvent(at, warden.EventFollow, i, ip, dev, ua)
					ev.Target, ev.TargetKind = acct(tgt), warden.TargetAccount
					add(ev)
				} else {
					ev := g.botEvent(at, warden.EventLike, i, ip, dev, ua)
					ev.Target, ev.TargetKind = g.post(tgt), warden.TargetContent
					add(ev)
				}
			}
		}
	case SignupBurstIP, SignupBurstSubnet, SignupBurstDevice:
		a, b, c := g.dcSubnet()
		sharedIP := ip4(a, b, c, 1+g.rng.IntN(254))
		sharedDev := g.randDevice()
		ua := g.ua(40)
		at := t
		for n := 12 + g.rng.IntN(30); n > 0; n-- {
			at = at.Add(g.between(5*time.Second, 40*time.Second))
			i := g.bot(at, tr)
			ip, dev := sharedIP, g.randDevice()
			switch kind {
			case SignupBurstSubnet:
				ip = ip4(a, b, c, 1+g.rng.IntN(254))
			case SignupBurstDevice:
				ip, dev = ip4(residential[g.rng.IntN(len(residential))], g.rng.IntN(256), g.rng.IntN(256), 1+g.rng.IntN(254)), sharedDev
			}
			add(g.botEvent(at, warden.EventSignup, i, ip, dev, ua))
			bt := at
			for k := 2 + g.rng.IntN(6); k > 0; k-- {
				bt = bt.Add(g.between(20*time.Second, 4*time.Minute))
				if g.rng.IntN(2) == 0 {
					ev := g.botEvent(bt, warden.EventFollow, i, ip, dev, ua)
					ev.Target, ev.TargetKind = acct(g.popular()), warden.TargetAccount
					add(ev)
				} else {
					ev := g.botEvent(bt, warden.EventLike, i, ip, dev, ua)
					ev.Target, ev.TargetKind = g.post(g.popular()), warden.TargetContent
					add(ev)
				}
			}
		}
	case ScamWave:
		// New accounts paste the same pitch and link under popular posts and
		// into strangers' inboxes.
		link := "https://" + [...]string{"bit.ly", "tinyurl.com", "cutt.ly", "t.co"}[g.rng.IntN(4)] + "/" + strconv.FormatUint(g.rng.Uint64()>>40, 36)
		pitch := [...]string{
			"I made $4,000 this week trading crypto from home, DM me or check ",
			"Congrats! You have been selected for a free gift card, claim it here ",
			"Hot singles in your area want to meet you ",
			"Limited airdrop: connect your wallet at ",
		}[g.rng.IntN(4)] + link
		ua := g.ua(30)
		for n := 10 + g.rng.IntN(20); n > 0; n-- {
			at := t.Add(g.between(0, 15*time.Minute))
			i := g.bot(at, tr)
			ip, dev := g.dcIP(), g.randDevice()
			add(g.botEvent(at, warden.EventSignup, i, ip, dev, ua))
			for k := 4 + g.rng.IntN(10); k > 0; k-- {
				at = at.Add(g.between(15*time.Second, 90*time.Second))
				typ, tgt, kind := warden.EventComment, g.post(g.popular()), warden.TargetContent
				if g.rng.IntN(2) == 0 {
					typ, tgt, kind = warden.EventMessage, acct(g.rng.IntN(g.cfg.Accounts)), warden.TargetAccount
				}
				ev := g.botEvent(at, typ, i, ip, dev, ua)
				ev.Target, ev.TargetKind = tgt, kind
				ev.Text = pitch
				if g.rng.IntN(3) == 0 {
					ev.Text = " " + pitch + " 🔥"
				}
				add(ev)
			}
		}
	case CredentialStuffing:
		// Leaked passwords tried against many accounts from a few addresses
		// in one /24, each attacker client rotating after a few tries.
		a, b, c := g.dcSubnet()
		ua := g.ua(70)
		at := t
		var client string
		for n := 80 + g.rng.IntN(250); n > 0; n-- {
			at = at.Add(g.between(500*time.Millisecond, 6*time.Second))
			if n%15 == 0 || client == "" {
				client = "c" + strconv.FormatUint(g.rng.Uint64()>>24, 36)
				g.truth[client] = tr
			}
			victim := g.rng.IntN(g.cfg.Accounts)
			ev := warden.Event{Type: warden.EventLoginFailed, Time: at, Actor: client,
				Target: acct(victim), TargetKind: warden.TargetAccount,
				IP: ip4(a, b, c, 1+g.rng.IntN(8)), Device: g.randDevice(), Country: "NL",
				Attrs: map[string]any{"user_agent": ua}}
			if g.rng.IntN(40) == 0 {
				ev.Type = warden.EventLogin
			}
			add(ev)
		}
	case AccountTakeover:
		// A genuine account logs in from a new device and country, changes
		// its email and password, then messages its friends a scam link.
		victim := g.rng.IntN(g.cfg.Accounts)
		// The account itself is genuine: its truth says so.
		g.truth[acct(victim)] = Truth{Campaign: kind, Run: tr.Run}
		ip, dev, ua := g.dcIP(), g.randDevice(), g.ua(40)
		cc := "RU"
		if g.homeCountry(victim) == cc {
			cc = "VN"
		}
		at := t
		mk := func(typ string) warden.Event {
			ev := g.botEvent(at, typ, victim, ip, dev, ua)
			ev.Country = cc
			return ev
		}
		add(mk(warden.EventLogin))
		at = at.Add(g.between(20*time.Second, 3*time.Minute))
		ev := mk(warden.EventProfileUpdate)
		ev.Attrs["fields"] = "email"
		add(ev)
		at = at.Add(g.between(5*time.Second, time.Minute))
		ev = mk(warden.EventProfileUpdate)
		ev.Attrs["fields"] = "password"
		add(ev)
		for k := 5 + g.rng.IntN(10); k > 0; k-- {
			at = at.Add(g.between(5*time.Second, 40*time.Second))
			ev := mk(warden.EventMessage)
			ev.Target, ev.TargetKind = acct(g.friend(victim)), warden.TargetAccount
			ev.Text = "hey is this you in this video?? https://vid-share.xyz/" + strconv.Itoa(g.rng.IntN(1e6))
			add(ev)
		}
	case Lockstep, LockstepDrip:
		// Aged sleeper accounts, otherwise unremarkable, working through
		// a list of targets together: each member acts on each target
		// within seconds of the others. A fast crowd takes its next target
		// 3 to 20 seconds later, a drip-fed one 30 seconds to 3 minutes
		// later. The crowd's size and pace differ from launch to launch.
		m := 15 + g.rng.IntN(36)
		members := make([]int, m)
		for k := range members {
			members[k] = g.bot(t.Add(-time.Duration(30+g.rng.IntN(300))*24*time.Hour), tr)
		}
		lo, hi := 3*time.Second, 20*time.Second
		if kind == LockstepDrip {
			lo, hi = 30*time.Second, 3*time.Minute
		}
		spread := g.between(5*time.Second, 20*time.Second)
		if c := g.cfg.CrowdSpread; c > 0 {
			spread = g.between(c/4, c)
		}
		at := t
		for tg := 6 + g.rng.IntN(10); tg > 0; tg-- {
			typ, tgt, tk := warden.EventLike, g.post(g.rng.IntN(g.cfg.Accounts)), warden.TargetContent
			if g.rng.IntN(2) == 0 {
				typ, tgt, tk = warden.EventFollow, acct(g.rng.IntN(g.cfg.Accounts)), warden.TargetAccount
			}
			for _, i := range members {
				ev := g.event(at.Add(g.between(0, spread)), typ, i)
				ev.Target, ev.TargetKind = tgt, tk
				add(ev)
			}
			at = at.Add(g.between(lo, hi))
		}
	}
	sortItems(s)
	if len(s) > 0 {
		g.inFlight++
		g.push(&source{at: s[0].ev.Time, kind: srcScript, script: s, camp: true})
	}
}

// StopCampaigns stops launching campaigns; those under way run to their end.
// A benchmark calls it before draining, so that no campaign is cut short
// and its accounts judged on half their events.
func (g *Generator) StopCampaigns() { g.stopped = true }

// CampaignsInFlight returns how many campaigns still have events to come.
func (g *Generator) CampaignsInFlight() int { return g.inFlight }

func sortItems(s []item) {
	slices.SortStableFunc(s, func(a, b item) int { return a.ev.Time.Compare(b.ev.Time) })
}
