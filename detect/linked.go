package detect

import (
	"strings"

	"github.com/wardenhq/warden"
)

// Linked accounts: accounts that share a device, an IP address, a
// normalised email or a normalised phone number are joined into one cluster
// (union-find), which keeps its own counters: size, how many of its accounts
// were new when they joined, and when it formed. Links are kept per epoch of
// LinkWindow event time; the previous epoch is still consulted, so a cluster
// is remembered for one to two windows and memory stays bounded.

type uf struct {
	node  map[uint64]int32 // account or identifier key → node
	n     []ufNode
	start int64
}

// ufNode is one node's state, kept together so a lookup touches one cache
// line rather than one per field.
type ufNode struct {
	parent  int32
	size    int32 // accounts in the cluster (identifiers do not count)
	newAcc  int32
	keyAccs int32 // for identifier nodes: accounts attached directly
	first   int64
}

func newUF(start int64) *uf { return &uf{node: map[uint64]int32{}, start: start} }

func (u *uf) len() int { return len(u.n) }

// find returns x's root, halving the path on the way. A node already
// next to its root is not written (its parent would not change), so that
// the line stays clean in the other cores' caches.
func (u *uf) find(x int32) int32 {
	for p := u.n[x].parent; p != x; p = u.n[x].parent {
		gp := u.n[p].parent
		if gp != p {
			u.n[x].parent = gp
		}
		x = gp
	}
	return x
}

func (u *uf) get(k uint64, t int64, acct, isNew bool) (int32, bool) {
	if n, ok := u.node[k]; ok {
		return n, false
	}
	n := int32(len(u.n))
	u.node[k] = n
	var sz, nw int32
	if acct {
		sz = 1
		if isNew {
			nw = 1
		}
	}
	u.n = append(u.n, ufNode{parent: n, size: sz, newAcc: nw, first: t})
	return n, true
}

func (u *uf) union(a, b int32) int32 {
	ra, rb := u.find(a), u.find(b)
	if ra == rb {
		return ra
	}
	if u.n[ra].size < u.n[rb].size {
		ra, rb = rb, ra
	}
	x, y := &u.n[ra], &u.n[rb]
	y.parent = ra
	x.size += y.size
	x.newAcc += y.newAcc
	x.first = min(x.first, y.first)
	return ra
}

type linker struct {
	span, maxPer int
	maxNodes     int
	cur, prev    *uf
}

func (l *linker) init(cfg Config) {
	l.span = int(cfg.LinkWindow.Seconds())
	l.maxPer = cfg.MaxLinksPerKey
	l.maxNodes = 4 * cfg.MaxAccounts
	l.cur, l.prev = newUF(0), newUF(0)
}

func (l *linker) tick(now int64) {
	if l.cur.start == 0 {
		l.cur.start = now
	}
	if now-l.cur.start >= int64(l.span) || l.cur.len() >= l.maxNodes {
		l.prev, l.cur = l.cur, newUF(now)
	}
}

func (l *linker) nodes() int { return l.cur.len() + l.prev.len() }

// Link is one identifier that links accounts: how (device, ip, email,
// phone) and its normalised value.
type Link struct {
	Via   string `json:"via"`
	Value string `json:"-"` // personal data: for matching, never shown
}

// linkVia names the kinds of link, by the byte eachLink passes.
var linkVia = map[byte]string{'d': "device", 'i': "ip", 'e': "email", 'p': "phone"}

// eachLink calls fn with each link identifier of ev: its device, its IP
// address, and (when email and phone say ev has those attrs) its normalised
// email and phone. It is the one definition of what links two accounts:
// the detector hashes what it yields, and the case view (Links) matches on
// it.
func eachLink(ev *warden.Event, email, phone bool, fn func(kind byte, v string)) {
	if ev.Device != "" {
		fn('d', ev.Device)
	}
	if ev.IP != "" {
		fn('i', ev.IP)
	}
	if email {
		if e := NormEmail(ev.Attr("email")); e != "" {
			fn('e', e)
		}
	}
	if phone {
		if p := NormPhone(ev.Attr("phone")); p != "" {
			fn('p', p)
		}
	}
}

// Links returns ev's link identifiers (see eachLink).
func Links(ev *warden.Event) []Link {
	var out []Link
	eachLink(ev, true, true, func(k byte, v string) { out = append(out, Link{Via: linkVia[k], Value: v}) })
	return out
}

// identifiers returns the link keys of ev, hashed; email and phone say
// whether ev has those attrs. Hashes keep the maps free of per-event
// strings.
func identifiers(h hasher, ev *warden.Event, email, phone bool, out []uint64) []uint64 {
	eachLink(ev, email, phone, func(k byte, v string) { out = append(out, h.key(k, v)) })
	return out
}

// touch starts loading account a's node in the current epoch, so that its
// cache miss overlaps with other work; it returns a value for the caller
// to keep.
func (l *linker) touch(a *account) uint64 {
	if a.linkUF != l.cur {
		return 0
	}
	return uint64(l.cur.n[a.linkNode].parent)
}

// observe links account a to its event's identifier keys (identifiers),
// whose XOR is sig, and returns its cluster's
// size, share of new accounts and age in seconds. Most events come from the
// device and address the account used last time; then nothing needs linking
// and only the account's own node is looked at.
func (l *linker) observe(keys []uint64, sig uint64, a *account, isNew bool, t int64) (int, float64, float64) {
	u := l.cur
	var an int32
	if a.linkUF == u && a.linkSig == sig {
		an = a.linkNode
	} else {
		an, _ = u.get(uint64(a.id)|1<<63, t, true, isNew) // account nodes live beside identifier hashes
		for _, k := range keys {
			kn, _ := u.get(k, t, false, false)
			if u.find(kn) == u.find(an) || int(u.n[kn].keyAccs) >= l.maxPer {
				continue
			}
			u.n[kn].keyAccs++
			u.union(an, kn)
		}
		a.linkUF, a.linkNode, a.linkSig = u, an, sig
	}
	r := &u.n[u.find(an)]
	size, nw, first := int(r.size), int(r.newAcc), r.first
	// The previous epoch may still know a larger cluster for this account.
	// Its node there is looked up once per epoch: the previous epoch gains
	// no nodes.
	if l.prev.len() > 0 {
		if a.prevUF != l.prev {
			a.prevUF, a.prevNode = l.prev, -1
			if pn, ok := l.prev.node[uint64(a.id)|1<<63]; ok {
				a.prevNode = pn
			}
		}
		if pn := a.prevNode; pn >= 0 {
			if pr := &l.prev.n[l.prev.find(pn)]; int(pr.size) > size {
				size, nw, first = int(pr.size), int(pr.newAcc), pr.first
			}
		}
	}
	if size < 2 {
		return 0, 0, 0
	}
	return size, float64(nw) / float64(size), float64(t - min(first, t))
}

// NormEmail normalises an email address for linking: lower case, "+tag"
// suffixes dropped, and dots dropped from Gmail local parts (Gmail ignores
// them), so one mailbox behind many sign-ups links them. "" if not an email.
func NormEmail(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return ""
	}
	local, domain := s[:at], s[at+1:]
	if i := strings.IndexByte(local, '+'); i >= 0 {
		local = local[:i]
	}
	if domain == "googlemail.com" {
		domain = "gmail.com"
	}
	if domain == "gmail.com" {
		local = strings.ReplaceAll(local, ".", "")
	}
	if local == "" {
		return ""
	}
	return local + "@" + domain
}

// NormPhone keeps the digits of a phone number (a leading + is dropped with
// the rest of the punctuation); fewer than 7 digits is not a phone number.
func NormPhone(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	if b.Len() < 7 || b.Len() > 15 {
		return ""
	}
	return b.String()
}
