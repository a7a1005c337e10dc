package partner

import (
	"bytes"
	"encoding/hex"
	"regexp"
	"slices"
	"time"

	"github.com/wardenhq/warden"
)

// Value is one clear value an event carried, of an indicator kind.
type Value struct {
	Kind, Clear string
}

// textURL finds links in an event's text: scammers post them.
var textURL = regexp.MustCompile(`https?://[^\s<>"'()]+`)

// maxTextURLs bounds the links taken from one event's text.
const maxTextURLs = 16

// urlAttrs are the attrs read as URLs.
var urlAttrs = []string{"url", "website", "link"}

// ValuesOf returns the indicator values ev carries, in the clear: the
// attrs email and phone, the attrs url, website and link and the links in
// its text, its device, and its IP address (shared as its prefix). The
// same fields account linking reads (detect.Links), plus URLs.
func ValuesOf(ev *warden.Event, out []Value) []Value {
	if v := ev.Attr("email"); v != "" {
		out = append(out, Value{KindEmail, v})
	}
	if v := ev.Attr("phone"); v != "" {
		out = append(out, Value{KindPhone, v})
	}
	for _, a := range urlAttrs {
		if v := ev.Attr(a); v != "" {
			out = append(out, Value{KindURL, v})
		}
	}
	if ev.Text != "" {
		for _, u := range textURL.FindAllString(ev.Text, maxTextURLs) {
			out = append(out, Value{KindURL, u})
		}
	}
	if ev.Device != "" {
		out = append(out, Value{KindDevice, ev.Device})
	}
	if ev.IP != "" {
		out = append(out, Value{KindIPPrefix, ev.IP})
	}
	return out
}

// agg is what the builder knows of one indicator.
type agg struct {
	accounts    int
	first, last int64 // unix seconds of the earliest and latest confirmation
	lastAcc     int32 // the last account counted, so an account counts once
}

// Builder counts, per indicator, the distinct confirmed accounts that
// carry it, keeping only keyed hashes: clear values are normalised and
// hashed as they are added and never kept. Add one account's values
// together (Account, then its Values), each account once.
type Builder struct {
	h    *Hasher
	aggs map[[33]byte]*agg
	acc  int32
	at   int64
}

// NewBuilder returns an empty Builder hashing with h.
func NewBuilder(h *Hasher) *Builder {
	return &Builder{h: h, aggs: map[[33]byte]*agg{}}
}

// Account starts the values of the next confirmed account, restricted at
// at.
func (b *Builder) Account(at time.Time) {
	b.acc++
	b.at = at.Unix()
}

// Value adds a clear value the current account carried; a value that is
// not of its kind (an email without @, say) is skipped.
func (b *Builder) Value(v Value) {
	k := kindIndex(v.Kind)
	n := Normalise(v.Kind, v.Clear)
	if k < 0 || n == "" {
		return
	}
	var key [33]byte
	key[0] = byte(k)
	sum := b.h.Sum(n)
	copy(key[1:], sum[:])
	b.add(key)
}

func (b *Builder) add(key [33]byte) {
	a := b.aggs[key]
	if a == nil {
		b.aggs[key] = &agg{accounts: 1, first: b.at, last: b.at, lastAcc: b.acc}
		return
	}
	if a.lastAcc == b.acc {
		return
	}
	a.lastAcc = b.acc
	a.accounts++
	a.first = min(a.first, b.at)
	a.last = max(a.last, b.at)
}

// FeedOptions shape a feed.
type FeedOptions struct {
	Issuer string
	// K is the threshold: an indicator is shared only when at least K
	// distinct confirmed accounts carry it.
	K int
	// Now is when the feed is issued; it expires FeedTTL later.
	Now time.Time
	// TTL is how long an indicator stays listed after its latest
	// confirmation.
	TTL time.Duration
	// Since, when set, keeps only the indicators confirmed again (or
	// first) at or after it: a delta, which importers merge.
	Since *time.Time
}

// FeedTTL is how long a feed is valid: partners fetch it daily.
const FeedTTL = 7 * 24 * time.Hour

// DefaultTTL is how long an indicator stays listed after the latest
// restriction of an account carrying it.
const DefaultTTL = 90 * 24 * time.Hour

// Feed returns the unsigned feed of the indicators at least o.K accounts
// carry, sorted by type and hash.
func (b *Builder) Feed(o FeedOptions) *Feed {
	if o.K < 1 {
		o.K = 1
	}
	if o.TTL <= 0 {
		o.TTL = DefaultTTL
	}
	f := &Feed{Issuer: o.Issuer, IssuedAt: o.Now.UTC().Truncate(time.Second), Indicators: []Indicator{}}
	f.ExpiresAt = f.IssuedAt.Add(FeedTTL)
	if o.Since != nil {
		s := o.Since.UTC()
		f.Since = &s
	}
	var since int64
	if o.Since != nil {
		since = o.Since.Unix()
	}
	keys := make([][33]byte, 0, len(b.aggs))
	for key, a := range b.aggs {
		if a.accounts < o.K || (o.Since != nil && a.last < since) {
			continue
		}
		if !time.Unix(a.last, 0).Add(o.TTL).After(f.IssuedAt) {
			continue
		}
		keys = append(keys, key)
	}
	// The order of sortIndicators: kind index, then hash (hex sorts as
	// its bytes do).
	slices.SortFunc(keys, func(x, y [33]byte) int { return bytes.Compare(x[:], y[:]) })
	f.Indicators = make([]Indicator, len(keys))
	var buf [64]byte
	for i, key := range keys {
		a := b.aggs[key]
		hex.Encode(buf[:], key[1:])
		f.Indicators[i] = Indicator{Type: Kinds[key[0]], Hash: string(buf[:]),
			FirstSeen: time.Unix(a.first, 0).UTC(), ExpiresAt: time.Unix(a.last, 0).UTC().Add(o.TTL), Accounts: a.accounts}
	}
	return f
}
