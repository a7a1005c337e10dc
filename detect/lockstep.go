package detect

// Lockstep detection, in-stream. CopyCatch and SynchroTrap find groups of
// accounts that act on the same targets within a short time, in batch. Here
// each target remembers the last few accounts that acted on it; when an
// account acts on a target, every account that acted on it within the window
// is a co-actor, and a pair of accounts that co-acted on LockstepTargets
// distinct targets, without a pause longer than LockstepSpan, become lockstep
// partners. An account's lockstep group is itself plus its partners. Two
// strangers liking the same viral post share one target; a bought crowd
// liking, following and sharing the same list of targets shares many.
//
// State lives in fixed-size, direct-mapped tables (a slot per key hash; a
// colliding key takes the slot over) rather than maps: one memory access per
// lookup, no allocation per event, no garbage to collect, and memory fixed
// up front. A collision loses some evidence, never invents it, because every
// slot keeps its full key.

const (
	targetRing  = 16 // accounts remembered per target
	targetBits  = 16 // 65,536 target slots
	pairBits    = 20 // 1,048,576 pair slots
	partnerBits = 18 // 262,144 accounts' partner counts
)

// coAct is one account's action on a target. It holds the account's id, not
// a pointer: the tables hold no pointers, so the garbage collector never
// scans them.
type coAct struct {
	t  int64
	id uint32
}

type targetSlot struct {
	key  uint64
	n    uint32
	ring [targetRing]coAct
}

type pairSlot struct {
	key      uint64 // lo<<32 | hi account ids; 0 is empty
	last     int64  // event time of the last co-action
	lastTgt  uint32 // low bits of the last target counted, so repeats count once
	shared   uint8
	partners bool
}

// partnerSlot is an account's count of lockstep partners, which count
// until last + 2×LockstepSpan.
type partnerSlot struct {
	last int64
	id   uint32 // 0 is empty (account ids start at 1)
	n    uint32
}

type lockstep struct {
	window, span, ttl int64
	need              uint8
	targets           []targetSlot
	pairs             []pairSlot
	partners          []partnerSlot
}

func (l *lockstep) init(cfg Config) {
	l.window = max(int64(cfg.LockstepWindow.Seconds()), 1)
	l.span = int64(cfg.LockstepSpan.Seconds())
	l.ttl = 2 * l.span
	l.need = uint8(min(cfg.LockstepTargets, 255))
	l.targets = make([]targetSlot, 1<<targetBits)
	l.pairs = make([]pairSlot, 1<<pairBits)
	l.partners = make([]partnerSlot, 1<<partnerBits)
}

func (l *lockstep) partnerSlot(id uint32) *partnerSlot {
	return &l.partners[mixKey(uint64(id), 5)&(1<<partnerBits-1)]
}

// group returns the lockstep group size of account id at t (0 if none).
func (l *lockstep) group(id uint32, t int64) int {
	p := l.partnerSlot(id)
	if p.id != id || p.n == 0 || t-p.last > l.ttl {
		return 0
	}
	return int(p.n) + 1
}

// addPartner counts one more partner for account id at t.
func (l *lockstep) addPartner(id uint32, t int64) {
	p := l.partnerSlot(id)
	if p.id != id || t-p.last > l.ttl {
		*p = partnerSlot{id: id}
	}
	p.n++
	p.last = max(p.last, t)
}

// observe records that account id acted on target key tk at t and returns
// its lockstep group size.
func (l *lockstep) observe(id uint32, tk uint64, t int64) int {
	tg := &l.targets[tk&(1<<targetBits-1)]
	if tg.key != tk {
		*tg = targetSlot{key: tk}
	}
	n := min(int(tg.n), targetRing)
	for i := 0; i < n; i++ {
		if tg.ring[i].id == id {
			return l.group(id, t) // a repeat on the same target is no new evidence
		}
	}
	for i := 0; i < n; i++ {
		c := &tg.ring[i]
		if d := t - c.t; d > l.window || d < -l.window {
			continue
		}
		lo, hi := id, c.id
		if lo > hi {
			lo, hi = hi, lo
		}
		pk := uint64(lo)<<32 | uint64(hi)
		p := &l.pairs[mixKey(pk, 3)&(1<<pairBits-1)]
		if p.key != pk || t-p.last > l.span {
			// New pair, or a pause long enough to end the run.
			*p = pairSlot{key: pk}
		}
		if p.lastTgt == uint32(tk) && p.shared > 0 {
			continue
		}
		p.lastTgt, p.last = uint32(tk), max(p.last, t)
		if p.shared < 255 {
			p.shared++
		}
		if p.shared >= l.need && !p.partners {
			p.partners = true
			l.addPartner(id, t)
			l.addPartner(c.id, t)
		}
	}
	tg.ring[tg.n%targetRing] = coAct{id: id, t: t}
	tg.n++
	return l.group(id, t)
}
