package detect

import "slices"

// Lockstep detection, in-stream. CopyCatch and SynchroTrap find groups of
// accounts that act on the same targets within a short time, in batch. Here
// each target remembers the last few accounts that acted on it, and each
// account the last few targets it acted on, with times. When an account acts
// on a target, every account that acted on it within the window is a
// co-actor; a co-actor whose own recent targets include LockstepTargets-1
// others that this account also acted on, each time within the window of
// it, and all within 2×LockstepSpan, becomes a lockstep partner. An
// account's lockstep group is itself plus its partners. Two strangers liking
// the same viral post share one target; a bought crowd liking, following and
// sharing the same list of targets shares many.
//
// Comparing the two accounts' recent targets, rather than counting the
// co-actions each target's short memory happened to witness, finds the
// evidence in crowds of any size: in a crowd of 300, two members are rarely
// among each other's last 16 actors on three targets in a row, but any two
// members that meet on one target share the crowd's earlier targets.
//
// State lives in fixed-size, direct-mapped tables (a slot per key hash; a
// colliding key takes the slot over) rather than maps: one memory access per
// lookup, no allocation per event, no pointers for the garbage collector to
// scan, and memory fixed up front. A collision loses some evidence, never
// invents it, because every slot keeps its full key.

const (
	targetRing  = 16 // accounts remembered per target
	recentN     = 6  // targets remembered per account (a slot fits one 64-byte cache line)
	targetBits  = 16 // 65,536 target slots
	recentBits  = 18 // 262,144 accounts' recent targets
	pairBits    = 18 // 262,144 partner pairs
	partnerBits = 18 // 262,144 accounts' partner counts
)

// Accounts are named by their 64-bit key (the seeded hash of the actor),
// which Observe knows before it looks the account up, so the account's
// lockstep slots can be loaded early.

// coAct is one account's action on a target.
type coAct struct {
	t   int64
	acc uint64
}

type targetSlot struct {
	key  uint64
	n    uint32
	ring [targetRing]coAct
}

// recentSlot is an account's last recentN targets (low 32 bits of their
// keys, never 0; 0 is empty) and when it acted on them (Unix seconds, as
// uint32: times outside 1970-2106 are clamped, which can only lose
// evidence).
type recentSlot struct {
	acc uint64
	n   uint32
	tgt [recentN]uint32
	t   [recentN]uint32
}

func sec32(t int64) uint32 { return uint32(min(max(t, 0), 1<<32-1)) }

// pairSlot marks two accounts as partners since last, so that meeting again
// on more targets does not count them twice. The pair table is 4-way
// set-associative (a bucket of 4 slots is one cache line): a pair forgotten
// while still together would be counted again, so a bucket keeps its 4
// most recent pairs rather than one.
type pairSlot struct {
	key  uint64 // hash of the two account keys
	last int64
}

// partnerSlot is an account's count of lockstep partners, which count
// until last + 2×LockstepSpan.
type partnerSlot struct {
	acc  uint64
	last int64
	n    uint32
}

type lockstep struct {
	window, ttl int64
	need        int
	targets     []targetSlot
	recent      []recentSlot
	pairs       []pairSlot
	partners    []partnerSlot
	// partnerUsed has bit i set once partners[i] has been written. Most
	// accounts never have a partner: their group is 0 without loading
	// their slot (a cache miss on every event otherwise), since an unused
	// slot is all zero.
	partnerUsed []uint64
}

func (l *lockstep) init(cfg Config) {
	l.window = max(int64(cfg.LockstepWindow.Seconds()), 1)
	l.ttl = 2 * int64(cfg.LockstepSpan.Seconds())
	l.need = cfg.LockstepTargets
	l.targets = make([]targetSlot, 1<<targetBits)
	l.recent = make([]recentSlot, 1<<recentBits)
	l.pairs = make([]pairSlot, 1<<pairBits)
	l.partners = make([]partnerSlot, 1<<partnerBits)
	l.partnerUsed = make([]uint64, 1<<partnerBits/64)
}

func (l *lockstep) target(tk uint64) *targetSlot { return &l.targets[tk&(1<<targetBits-1)] }

func partnerIndex(acc uint64) uint64 { return mixKey(acc, 5) & (1<<partnerBits - 1) }

// partnerSlot returns account acc's partner slot, or nil if that slot
// has never been written (so holds no partners).
func (l *lockstep) partnerSlot(acc uint64) *partnerSlot {
	i := partnerIndex(acc)
	if l.partnerUsed[i/64]&(1<<(i%64)) == 0 {
		return nil
	}
	return &l.partners[i]
}

func (l *lockstep) recentSlot(acc uint64) *recentSlot {
	return &l.recent[mixKey(acc, 7)&(1<<recentBits-1)]
}

// touch starts loading the slots that observe (or group) will read for
// account acc and target tk, so that their cache misses overlap with other
// work; it returns a value for the caller to keep.
func (l *lockstep) touch(acc, tk uint64, acted bool) uint64 {
	var x uint64
	if p := l.partnerSlot(acc); p != nil {
		x = p.acc
	}
	if acted {
		// A target slot spans five cache lines, which observe scans or
		// resets: one load in each.
		tg := l.target(tk)
		x ^= tg.key ^ uint64(tg.ring[3].t^tg.ring[7].t^tg.ring[11].t^tg.ring[15].t) ^ tg.ring[15].acc
		x ^= l.recentSlot(acc).acc
	}
	return x
}

// group returns the lockstep group size of account acc at t (0 if none).
func (l *lockstep) group(acc uint64, t int64) int {
	p := l.partnerSlot(acc)
	if p == nil || p.acc != acc || p.n == 0 || t-p.last > l.ttl {
		return 0
	}
	return int(p.n) + 1
}

// addPartner counts one more partner for account acc at t.
func (l *lockstep) addPartner(acc uint64, t int64) {
	i := partnerIndex(acc)
	l.partnerUsed[i/64] |= 1 << (i % 64)
	p := &l.partners[i]
	if p.acc != acc || t-p.last > l.ttl {
		*p = partnerSlot{acc: acc}
	}
	p.n++
	p.last = max(p.last, t)
}

// shared counts the targets other than cur that both a and b acted on
// within the window of each other, at or after since.
func (l *lockstep) shared(a, b *recentSlot, cur uint32, since int64) int {
	n := 0
	for i, ta := range a.tgt {
		if ta == 0 || ta == cur || int64(a.t[i]) < since {
			continue
		}
		for j, tb := range b.tgt {
			if tb == ta {
				if d := int64(a.t[i]) - int64(b.t[j]); d <= l.window && d >= -l.window {
					n++
				}
				break
			}
		}
	}
	return n
}

// pair reports whether the pair with key pk were partners already (still
// together at t), and records them as partners at t.
func (l *lockstep) pair(pk uint64, t int64) bool {
	b := l.pairs[pk&(1<<pairBits-1)&^3:][:4]
	old := 0
	for i := range b {
		if b[i].key == pk && t-b[i].last <= l.ttl {
			b[i].last = max(b[i].last, t)
			return true
		}
		if b[i].last < b[old].last {
			old = i
		}
	}
	b[old] = pairSlot{key: pk, last: t}
	return false
}

// observe records that account acc acted on target key tk at t and returns
// its lockstep group size, and a value for the caller to keep (so that the
// early loads are not optimised away).
func (l *lockstep) observe(acc, tk uint64, t int64) (int, uint64) {
	tg := l.target(tk)
	if tg.key != tk {
		*tg = targetSlot{key: tk}
	}
	n := min(int(tg.n), targetRing)
	// Co-actors within the window; their recent slots are requested all
	// at once before any is compared, so the loads overlap.
	var co [targetRing]uint64
	var x uint64
	m := 0
	for i := 0; i < n; i++ {
		c := &tg.ring[i]
		if c.acc == acc {
			return l.group(acc, t), x // a repeat on the same target is no new evidence
		}
		if d := t - c.t; d <= l.window && d >= -l.window {
			co[m] = c.acc
			x ^= l.recentSlot(c.acc).acc
			m++
		}
	}
	cur := uint32(tk) | 1 // never 0, the empty mark
	me := l.recentSlot(acc)
	if me.acc != acc {
		*me = recentSlot{acc: acc}
	}
	since := t - l.ttl
	for _, c := range co[:m] {
		other := l.recentSlot(c)
		if other.acc != c || 1+l.shared(me, other, cur, since) < l.need {
			continue
		}
		if !l.pair(mixKey(min(acc, c), max(acc, c)), t) {
			l.addPartner(acc, t)
			l.addPartner(c, t)
		}
	}
	// One entry per target, with the first time: an account that liked a
	// post and later commented on it acted on one target, and the like is
	// what a crowd's timing is measured by.
	if !slices.Contains(me.tgt[:], cur) {
		k := me.n % recentN
		me.tgt[k], me.t[k] = cur, sec32(t)
		me.n++
	}
	tg.ring[tg.n%targetRing] = coAct{acc: acc, t: t}
	tg.n++
	return l.group(acc, t), x
}
