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
	targetRing = 16 // accounts remembered per target
	targetBits = 16 // 65,536 target slots
	pairBits   = 20 // 1,048,576 pair slots
)

type coAct struct {
	a *account
	t int64
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

type lockstep struct {
	window, span, ttl int64
	need              uint8
	targets           []targetSlot
	pairs             []pairSlot
}

func (l *lockstep) init(cfg Config) {
	l.window = max(int64(cfg.LockstepWindow.Seconds()), 1)
	l.span = int64(cfg.LockstepSpan.Seconds())
	l.ttl = 2 * l.span
	l.need = uint8(min(cfg.LockstepTargets, 255))
	l.targets = make([]targetSlot, 1<<targetBits)
	l.pairs = make([]pairSlot, 1<<pairBits)
}

// group returns a's lockstep group size at t (0 if none).
func (l *lockstep) group(a *account, t int64) int {
	if a.partners == 0 || t-a.partnersLast > l.ttl {
		return 0
	}
	return a.partners + 1
}

// observe records that account a acted on target key tk at t and returns
// its lockstep group size.
func (l *lockstep) observe(a *account, tk uint64, t int64) int {
	id := a.id
	tg := &l.targets[tk&(1<<targetBits-1)]
	if tg.key != tk {
		*tg = targetSlot{key: tk}
	}
	n := min(int(tg.n), targetRing)
	for i := 0; i < n; i++ {
		if tg.ring[i].a == a {
			return l.group(a, t) // a repeat on the same target is no new evidence
		}
	}
	for i := 0; i < n; i++ {
		c := &tg.ring[i]
		if d := t - c.t; d > l.window || d < -l.window {
			continue
		}
		lo, hi := id, c.a.id
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
			for _, x := range [2]*account{a, c.a} {
				if t-x.partnersLast > l.ttl {
					x.partners = 0
				}
				x.partners++
				x.partnersLast = max(x.partnersLast, t)
			}
		}
	}
	tg.ring[tg.n%targetRing] = coAct{a: a, t: t}
	tg.n++
	return l.group(a, t)
}
