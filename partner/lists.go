package partner

import (
	"encoding/binary"
	"fmt"
	"maps"
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

// Import lists f's indicators for partner, with trust: a whole feed (no
// Since) in place of what partner listed before, a delta (Since) merged
// into it. f must have been decoded and verified. Indicators that have
// expired, or that fewer than minAccounts accounts carry (this server's k),
// are rejected.
func (l *Lists) Import(partner string, trust int, f *Feed, minAccounts int) ImportResult {
	p, res := l.prepare(partner, trust, f, minAccounts)
	l.put(p)
	return res
}

// prepare returns the list Import would put in place, without doing so.
func (l *Lists) prepare(partner string, trust int, f *Feed, minAccounts int) (*list, ImportResult) {
	p := &list{partner: partner, trust: trust}
	if f.Since != nil {
		if old := l.find(partner); old != nil {
			for k, m := range old.byKind {
				if m != nil {
					p.byKind[k] = maps.Clone(m)
				}
			}
		}
	}
	var res ImportResult
	now := l.now()
	var per [len(p.byKind)]int
	for i := range f.Indicators {
		per[kindIndex(f.Indicators[i].Type)]++
	}
	for k, n := range per {
		if n > 0 && p.byKind[k] == nil {
			p.byKind[k] = make(map[key]int64, n)
		}
	}
	for i := range f.Indicators {
		in := &f.Indicators[i]
		if !in.ExpiresAt.After(now) || in.Accounts < minAccounts {
			res.Rejected++
			continue
		}
		k := kindIndex(in.Type)
		h, _ := parseHash(in.Hash)
		var hk key
		copy(hk[:], h[:16])
		p.byKind[k][hk] = in.ExpiresAt.Unix()
		res.Imported++
	}
	return p, res
}

// put makes p its partner's list.
func (l *Lists) put(p *list) {
	l.mu.Lock()
	defer l.mu.Unlock()
	old := *l.cur.Load()
	next := make([]*list, 0, len(old)+1)
	for _, o := range old {
		if o.partner != p.partner {
			next = append(next, o)
		}
	}
	next = append(next, p)
	slices.SortStableFunc(next, func(a, b *list) int { return b.trust - a.trust })
	l.cur.Store(&next)
}

func (l *Lists) find(partner string) *list {
	for _, p := range *l.cur.Load() {
		if p.partner == partner {
			return p
		}
	}
	return nil
}

// packedEntry is the size of one listed indicator in Pack's form: its
// kind, the 16 bytes of its hash a list keeps, its expiry (unix seconds,
// big-endian).
const packedEntry = 1 + 16 + 8

// Pack returns partner's list in a compact form to store (Unpack reads
// it): keyed hashes only, as imported. Expired indicators are left out.
func (l *Lists) Pack(partner string) []byte {
	p := l.find(partner)
	if p == nil {
		return nil
	}
	return p.pack(l.now().Unix())
}

func (p *list) pack(now int64) []byte {
	n := 0
	for _, m := range p.byKind {
		n += len(m)
	}
	out := make([]byte, 0, n*packedEntry)
	for k, m := range p.byKind {
		for hk, exp := range m {
			if exp <= now {
				continue
			}
			out = append(out, byte(k))
			out = append(out, hk[:]...)
			out = binary.BigEndian.AppendUint64(out, uint64(exp))
		}
	}
	return out
}

// Unpack makes packed (as Pack returned it) partner's list, with trust.
func (l *Lists) Unpack(partner string, trust int, packed []byte) error {
	if len(packed)%packedEntry != 0 {
		return fmt.Errorf("the stored list of partner %q is %d bytes, not a multiple of %d", partner, len(packed), packedEntry)
	}
	p := &list{partner: partner, trust: trust}
	var per [len(p.byKind)]int
	for b := packed; len(b) > 0; b = b[packedEntry:] {
		if int(b[0]) < len(per) {
			per[b[0]]++
		}
	}
	for b := packed; len(b) > 0; b = b[packedEntry:] {
		k := int(b[0])
		if k >= len(Kinds) {
			return fmt.Errorf("the stored list of partner %q has an indicator of kind %d", partner, k)
		}
		if p.byKind[k] == nil {
			p.byKind[k] = make(map[key]int64, per[k])
		}
		var hk key
		copy(hk[:], b[1:17])
		p.byKind[k][hk] = int64(binary.BigEndian.Uint64(b[17:25]))
	}
	l.put(p)
	return nil
}

// Count returns how many indicators partner's list holds.
func (l *Lists) Count(partner string) int {
	p := l.find(partner)
	if p == nil {
		return 0
	}
	n := 0
	for _, m := range p.byKind {
		n += len(m)
	}
	return n
}
