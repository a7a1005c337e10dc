package web

import (
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/wardenhq/warden"
)

// DefaultFeedSize is how many recent verdicts a Feed keeps in each of its
// two lists (all, and flagged).
const DefaultFeedSize = 200

// perRuleSize is how many recent verdicts a Feed keeps for each rule, so
// that the dashboard can show examples of a rare rule that the busy ones
// would push out of the flagged list.
const perRuleSize = 20

// maxFeedRules bounds the rules a Feed keeps examples of. Rule names come
// from rule sets, which are small, but hot reloads can bring new names for
// as long as the process runs; past the bound, new rules get no examples
// (their hits are still counted).
const maxFeedRules = 1024

// topWindow is how far back the dashboard's "rules that fire most" looks,
// in minutes. Arrival time, not event time: this is a live view of what is
// happening now, and a replay of old events should not look like a quiet
// minute.
const topWindow = 10

// chartWindow is how many minutes the dashboard's charts show; the feed
// keeps that many per-minute buckets.
const chartWindow = 30

// Feed is a bounded, in-memory view of recently accepted events and their
// verdicts, for the console's live dashboard. Add is meant for ingest's
// OnAccepted callback: it takes one lock per batch, keeps only the newest
// events of a large batch, and holds on to nothing of an event but a few
// short fields (never its text or attributes). Safe for concurrent use.
type Feed struct {
	mu      sync.Mutex
	recent  ring // every verdict
	flagged ring // verdicts with a hit or an action other than allow
	byRule  map[string]*ring
	pending map[string]int // per Add: hits of each rule not yet passed, reused
	total   uint64
	flags   uint64
	actions [5]uint64 // by warden.Action
	minutes [chartWindow]minuteHits
	now     func() time.Time
}

// FeedItem is one event and its verdict as the dashboard shows it.
type FeedItem struct {
	At        time.Time // when Warden accepted it
	EventID   string
	Type      string
	Actor     string
	Target    string
	EventTime time.Time
	Action    warden.Action
	Score     float64
	Hits      []warden.Hit
}

// Flagged reports whether the verdict is worth a moderator's look: a rule
// hit (in any mode) or an action other than allow.
func (it *FeedItem) Flagged() bool { return len(it.Hits) > 0 || it.Action != warden.ActionAllow }

// RuleCount is how often a rule fired.
type RuleCount struct {
	Rule string
	Hits uint64
}

// FeedStats counts what the feed has seen since the process started, and
// in the last full minute.
type FeedStats struct {
	Events   uint64
	Flagged  uint64
	ByAction []ActionCount // every action, least severe first
	// LastMinute and FlaggedLastMinute count the previous clock minute:
	// the current one is still filling, and would read low.
	LastMinute, FlaggedLastMinute uint64
}

// ActionCount is how many verdicts had one action.
type ActionCount struct {
	Action warden.Action
	Count  uint64
}

type minuteHits struct {
	minute  int64 // unix minutes; this bucket's counts are for that minute
	events  uint64
	flagged uint64
	actions [5]uint64 // by warden.Action
	hits    map[string]uint64
}

type ring struct {
	items []FeedItem
	next  int
	n     int
}

// NewFeed returns a Feed keeping the n newest verdicts, and the n newest
// flagged ones.
func NewFeed(n int) *Feed {
	if n < 1 {
		n = 1
	}
	return &Feed{recent: ring{items: make([]FeedItem, n)}, flagged: ring{items: make([]FeedItem, n)},
		byRule: make(map[string]*ring), pending: make(map[string]int), now: time.Now}
}

// Add records accepted events and their verdicts (vs[i] is evs[i]'s).
func (f *Feed) Add(evs []warden.Event, vs []warden.Verdict) {
	n := min(len(evs), len(vs))
	if n == 0 {
		return
	}
	now := f.now()
	minute := now.Unix() / 60
	f.mu.Lock()
	defer f.mu.Unlock()
	bucket := &f.minutes[minute%chartWindow]
	if bucket.minute != minute {
		bucket.minute = minute
		bucket.events, bucket.flagged = 0, 0
		bucket.actions = [5]uint64{}
		clear(bucket.hits)
	}
	var flagged int
	for i := range n {
		v := &vs[i]
		f.total++
		if int(v.Action) < len(f.actions) {
			f.actions[v.Action]++
			bucket.actions[v.Action]++
		}
		if len(v.Hits) > 0 || v.Action != warden.ActionAllow {
			flagged++
		}
		for j := range v.Hits {
			if bucket.hits == nil {
				bucket.hits = make(map[string]uint64)
			}
			bucket.hits[v.Hits[j].Rule]++
			f.pending[v.Hits[j].Rule]++
		}
	}
	f.flags += uint64(flagged)
	bucket.events += uint64(n)
	bucket.flagged += uint64(flagged)
	// Of a large batch only the newest fit in the rings: copy just those,
	// once each, shared by both rings (items are never changed).
	recentFrom := n - len(f.recent.items)
	skip := flagged - len(f.flagged.items) // flagged events too old to keep
	for i := range n {
		v := &vs[i]
		isFlagged := len(v.Hits) > 0 || v.Action != warden.ActionAllow
		keepFlagged := isFlagged && skip <= 0
		if isFlagged && skip > 0 {
			skip--
		}
		// A rule's examples are its newest perRuleSize hits of the batch.
		keepForRule := false
		for j := range v.Hits {
			left := f.pending[v.Hits[j].Rule]
			f.pending[v.Hits[j].Rule] = left - 1
			keepForRule = keepForRule || left <= perRuleSize
		}
		if i < recentFrom && !keepFlagged && !keepForRule {
			continue
		}
		it := item(now, &evs[i], v)
		if i >= recentFrom {
			f.recent.push(it)
		}
		if keepFlagged {
			f.flagged.push(it)
		}
		for j := range v.Hits {
			// pending was decremented above: it is now the hits of this
			// rule after this event.
			if f.pending[v.Hits[j].Rule] < perRuleSize {
				if r := f.ruleRing(v.Hits[j].Rule); r != nil {
					r.push(it)
				}
			}
		}
	}
	clear(f.pending)
}

// ruleRing returns rule's ring of examples, or nil when there are too many
// rules to keep a new one.
func (f *Feed) ruleRing(rule string) *ring {
	r, ok := f.byRule[rule]
	if !ok {
		if len(f.byRule) >= maxFeedRules {
			return nil
		}
		r = &ring{items: make([]FeedItem, perRuleSize)}
		f.byRule[rule] = r
	}
	return r
}

func item(at time.Time, ev *warden.Event, v *warden.Verdict) FeedItem {
	// The verdict's hits are copied: the engine may reuse its slices.
	return FeedItem{At: at, EventID: ev.ID, Type: ev.Type, Actor: ev.Actor, Target: ev.Target, EventTime: ev.Time,
		Action: v.Action, Score: v.Score, Hits: slices.Clone(v.Hits)}
}

func (r *ring) push(it FeedItem) {
	r.items[r.next] = it
	r.next = (r.next + 1) % len(r.items)
	if r.n < len(r.items) {
		r.n++
	}
}

// newest returns up to limit items, newest first.
func (r *ring) newest(limit int) []FeedItem {
	k := min(limit, r.n)
	out := make([]FeedItem, k)
	for i := range k {
		out[i] = r.items[(r.next-1-i+len(r.items))%len(r.items)]
	}
	return out
}

// Recent returns up to limit of the newest verdicts, newest first; only
// flagged ones when flaggedOnly.
func (f *Feed) Recent(limit int, flaggedOnly bool) []FeedItem {
	f.mu.Lock()
	defer f.mu.Unlock()
	if flaggedOnly {
		return f.flagged.newest(limit)
	}
	return f.recent.newest(limit)
}

// ByRule returns up to limit of the newest verdicts in which rule fired,
// newest first.
func (f *Feed) ByRule(rule string, limit int) []FeedItem {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.byRule[rule]
	if !ok {
		return nil
	}
	return r.newest(limit)
}

// TopRules returns up to limit rules that fired most in the last ten
// minutes, most first (ties by name).
func (f *Feed) TopRules(limit int) []RuleCount {
	minute := f.now().Unix() / 60
	sum := make(map[string]uint64)
	f.mu.Lock()
	for i := range f.minutes {
		b := &f.minutes[i]
		if minute-b.minute >= topWindow || b.minute > minute {
			continue
		}
		for r, n := range b.hits {
			sum[r] += n
		}
	}
	f.mu.Unlock()
	out := make([]RuleCount, 0, len(sum))
	for r, n := range sum {
		out = append(out, RuleCount{Rule: r, Hits: n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Hits != out[j].Hits {
			return out[i].Hits > out[j].Hits
		}
		return out[i].Rule < out[j].Rule
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

// MinuteCount is one minute of verdicts, by action.
type MinuteCount struct {
	Minute   time.Time
	ByAction [5]uint64 // by warden.Action
	Total    uint64
}

// Minutes returns the verdicts of each of the last n full minutes (n ≤
// chartWindow-1), oldest first; minutes with nothing are zero.
func (f *Feed) Minutes(n int) []MinuteCount {
	var out []MinuteCount
	f.lastMinutes(n, func(m int64, b *minuteHits) {
		c := MinuteCount{Minute: time.Unix(m*60, 0).UTC()}
		if b != nil {
			c.ByAction, c.Total = b.actions, b.events
		}
		out = append(out, c)
	})
	return out
}

// RuleMinutes returns rule's hits in each of the last n full minutes,
// oldest first.
func (f *Feed) RuleMinutes(rule string, n int) []uint64 {
	var out []uint64
	f.lastMinutes(n, func(_ int64, b *minuteHits) {
		var k uint64
		if b != nil {
			k = b.hits[rule]
		}
		out = append(out, k)
	})
	return out
}

// lastMinutes calls fn, oldest first, with each of the last n full minutes
// and its bucket (nil when the feed saw nothing that minute).
func (f *Feed) lastMinutes(n int, fn func(minute int64, b *minuteHits)) {
	n = min(n, chartWindow-1)
	cur := f.now().Unix() / 60
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range n {
		m := cur - int64(n-i)
		if b := &f.minutes[m%chartWindow]; b.minute == m {
			fn(m, b)
		} else {
			fn(m, nil)
		}
	}
}

// Stats returns the feed's counts since it was made.
func (f *Feed) Stats() FeedStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := FeedStats{Events: f.total, Flagged: f.flags}
	prev := f.now().Unix()/60 - 1
	if b := &f.minutes[prev%chartWindow]; b.minute == prev {
		s.LastMinute, s.FlaggedLastMinute = b.events, b.flagged
	}
	for _, a := range warden.Actions {
		s.ByAction = append(s.ByAction, ActionCount{Action: a, Count: f.actions[a]})
	}
	return s
}
