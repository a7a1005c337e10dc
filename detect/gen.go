package detect

import (
	"crypto/rand"
	"encoding/binary"
)

// gen is a map whose entries expire by event time without a sweeper or a
// goroutine: entries live in two generations, the current one and the
// previous one. When the current generation is older than span (event time)
// or holds max entries, it becomes the previous one and the old previous one
// is dropped. An entry touched within one span survives; one idle for two
// spans is gone. Memory is bounded by 2 × max entries.
type gen[V any] struct {
	cur, prev map[uint64]V
	start     int64 // event time the current generation began
	span      int64
	max       int
}

func newGen[V any](span int64, max int) *gen[V] {
	return &gen[V]{cur: map[uint64]V{}, prev: map[uint64]V{}, span: span, max: max}
}

// tick rotates the generations if due at event time now.
func (g *gen[V]) tick(now int64) {
	if g.start == 0 {
		g.start = now
	}
	if now-g.start >= g.span || len(g.cur) >= g.max {
		g.prev = g.cur
		g.cur = make(map[uint64]V, len(g.prev)/2+8)
		g.start = now
	}
}

// get returns the entry for k, moving it to the current generation.
func (g *gen[V]) get(k uint64) (V, bool) {
	if v, ok := g.cur[k]; ok {
		return v, true
	}
	if v, ok := g.prev[k]; ok {
		delete(g.prev, k)
		g.cur[k] = v
		return v, true
	}
	var z V
	return z, false
}

func (g *gen[V]) put(k uint64, v V) { g.cur[k] = v }

func (g *gen[V]) len() int { return len(g.cur) + len(g.prev) }

// hasher hashes keys with a per-Set secret; key kinds are kept apart by a
// one-byte prefix mixed into the hash. By default the secret is random, so
// nobody can choose identifiers that collide and, say, alias an account or
// link it to a cluster; it is FNV-1a from a secret offset basis rather than
// maphash because snapshots must carry it (a maphash seed cannot be saved),
// and the tables a snapshot restores are indexed by these hashes. With a
// fixed seed (Config.HashSeed) the hash is the same in every process, so a
// replay or an evaluation gives the same features run after run; that mode
// is for offline work.
type hasher struct {
	basis uint64 // FNV-1a's offset basis: the secret, or FNV's own
	mix   uint64 // mixed into every key: the secret, or the fixed seed
}

func newHasher(fixed uint64) hasher {
	if fixed != 0 {
		return hasher{basis: 14695981039346656037, mix: fixed}
	}
	var b [8]byte
	rand.Read(b[:])
	secret := binary.LittleEndian.Uint64(b[:])
	return hasher{basis: secret, mix: secret}
}

func (h hasher) key(kind byte, s string) uint64 {
	x := h.basis
	for i := 0; i < len(s); i++ {
		x = (x ^ uint64(s[i])) * 1099511628211
	}
	return mixKey(uint64(kind)^h.mix, x)
}
