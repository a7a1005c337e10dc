package partner

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wardenhq/warden/engine"
)

// Trust levels of a partner, as an import names them.
var TrustLevels = []string{"low", "medium", "high"}

// ParseTrust returns the engine trust level named s.
func ParseTrust(s string) (int, bool) {
	i := slices.Index(TrustLevels, s)
	return i + 1, i >= 0
}

// key is a listed indicator in memory: the first 128 bits of its keyed
// hash, which are as unique as the whole among any number of indicators a
// feed may carry, at half the memory.
type key [16]byte

// list is one partner's imported indicators, immutable once built.
type list struct {
	partner string
	trust   int
	byKind  [5]map[key]int64 // expiry, unix seconds
}

// Lists holds the indicators imported from partners' feeds, one list per
// partner, and answers the rule engine's partner_listed (engine.Partners):
// the event's value is normalised, hashed with the group key and looked up
// in memory. An import replaces its partner's list at once; lookups never
// wait for it.
type Lists struct {
	hasher *Hasher
	now    func() time.Time
	mu     sync.Mutex // serialises replacements
	cur    atomic.Pointer[[]*list]
}

// NewLists returns empty Lists hashing with h.
func NewLists(h *Hasher) *Lists {
	l := &Lists{hasher: h, now: time.Now}
	l.cur.Store(&[]*list{})
	return l
}

var _ engine.Partners = (*Lists)(nil)

// Lookup implements engine.Partners.
func (l *Lists) Lookup(kind, value string, min int) (string, int) {
	ls := *l.cur.Load()
	if len(ls) == 0 {
		return "", engine.TrustNone
	}
	k := kindIndex(kind)
	if k < 0 {
		return "", engine.TrustNone
	}
	n := Normalise(kind, value)
	if n == "" {
		return "", engine.TrustNone
	}
	sum := l.hasher.Sum(n)
	var hk key
	copy(hk[:], sum[:16])
	now := l.now().Unix()
	best, bt := "", engine.TrustNone
	for _, p := range ls { // sorted by trust, highest first
		if p.trust < min || p.trust <= bt {
			continue
		}
		if exp, ok := p.byKind[k][hk]; ok && exp > now {
			best, bt = p.partner, p.trust
		}
	}
	return best, bt
}

// ImportResult says what an import kept: indicators listed, and those
// refused because they had expired or were carried by fewer accounts than
// this server's k.
type ImportResult struct {
	Imported int `json:"imported"`
	Rejected int `json:"rejected"`
}

// Replace makes f's indicators partner's list, with trust, in place of
// what it listed before. f must have been decoded and verified. Indicators
// that have expired, or that fewer than minAccounts accounts carry, are
// rejected.
func (l *Lists) Replace(partner string, trust int, f *Feed, minAccounts int) ImportResult {
	p := &list{partner: partner, trust: trust}
	var res ImportResult
	now := l.now()
	for i := range f.Indicators {
		in := &f.Indicators[i]
		if !in.ExpiresAt.After(now) || in.Accounts < minAccounts {
			res.Rejected++
			continue
		}
		k := kindIndex(in.Type)
		h, _ := parseHash(in.Hash)
		if p.byKind[k] == nil {
			p.byKind[k] = map[key]int64{}
		}
		var hk key
		copy(hk[:], h[:16])
		p.byKind[k][hk] = in.ExpiresAt.Unix()
		res.Imported++
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	old := *l.cur.Load()
	next := make([]*list, 0, len(old)+1)
	for _, o := range old {
		if o.partner != partner {
			next = append(next, o)
		}
	}
	next = append(next, p)
	slices.SortStableFunc(next, func(a, b *list) int { return b.trust - a.trust })
	l.cur.Store(&next)
	return res
}

// Count returns how many indicators partner's list holds.
func (l *Lists) Count(partner string) int {
	for _, p := range *l.cur.Load() {
		if p.partner == partner {
			n := 0
			for _, m := range p.byKind {
				n += len(m)
			}
			return n
		}
	}
	return 0
}
