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
	node    map[uint64]int32 // account or identifier key → node
	parent  []int32
	size    []int32 // accounts in the cluster (identifiers do not count)
	newAcc  []int32
	first   []int64
	keyAccs []int32 // for identifier nodes: accounts attached directly
	start   int64
}

func newUF(start int64) *uf { return &uf{node: map[uint64]int32{}, start: start} }

func (u *uf) find(x int32) int32 {
	for u.parent[x] != x {
		u.parent[x] = u.parent[u.parent[x]]
		x = u.parent[x]
	}
	return x
}

func (u *uf) get(k uint64, t int64, acct, isNew bool) (int32, bool) {
	if n, ok := u.node[k]; ok {
		return n, false
	}
	n := int32(len(u.parent))
	u.node[k] = n
	u.parent = append(u.parent, n)
	var sz, nw int32
	if acct {
		sz = 1
		if isNew {
			nw = 1
		}
	}
	u.size = append(u.size, sz)
	u.newAcc = append(u.newAcc, nw)
	u.first = append(u.first, t)
	u.keyAccs = append(u.keyAccs, 0)
	return n, true
}

func (u *uf) union(a, b int32) int32 {
	ra, rb := u.find(a), u.find(b)
	if ra == rb {
		return ra
	}
	if u.size[ra] < u.size[rb] {
		ra, rb = rb, ra
	}
	u.parent[rb] = ra
	u.size[ra] += u.size[rb]
	u.newAcc[ra] += u.newAcc[rb]
	u.first[ra] = min(u.first[ra], u.first[rb])
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
	if now-l.cur.start >= int64(l.span) || len(l.cur.parent) >= l.maxNodes {
		l.prev, l.cur = l.cur, newUF(now)
	}
}

func (l *linker) nodes() int { return len(l.cur.parent) + len(l.prev.parent) }

// identifiers returns the link keys of ev: device, IP, normalised email and
// phone. Hashes keep the maps free of per-event strings.
func identifiers(h hasher, ev *warden.Event, out []uint64) []uint64 {
	if ev.Device != "" {
		out = append(out, h.key('d', ev.Device))
	}
	if ev.IP != "" {
		out = append(out, h.key('i', ev.IP))
	}
	if e := NormEmail(ev.Attr("email")); e != "" {
		out = append(out, h.key('e', e))
	}
	if p := NormPhone(ev.Attr("phone")); p != "" {
		out = append(out, h.key('p', p))
	}
	return out
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
			if u.find(kn) == u.find(an) || int(u.keyAccs[kn]) >= l.maxPer {
				continue
			}
			u.keyAccs[kn]++
			u.union(an, kn)
		}
		a.linkUF, a.linkNode, a.linkSig = u, an, sig
	}
	r := u.find(an)
	size, nw, first := int(u.size[r]), int(u.newAcc[r]), u.first[r]
	// The previous epoch may still know a larger cluster for this account.
	if len(l.prev.parent) > 0 {
		if pn, ok := l.prev.node[uint64(a.id)|1<<63]; ok {
			pr := l.prev.find(pn)
			if int(l.prev.size[pr]) > size {
				size, nw, first = int(l.prev.size[pr]), int(l.prev.newAcc[pr]), l.prev.first[pr]
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
