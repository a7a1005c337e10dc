package detect

// Lockstep detection, in-stream. CopyCatch and SynchroTrap find groups of
// accounts that act on the same targets within a short time, in batch. Here
// each target remembers the last few accounts that acted on it; when an
// account acts on a target, every account that acted on it within the window
// becomes a co-actor, and a pair of accounts that co-acted on
// LockstepTargets distinct targets become lockstep partners. An account's
// lockstep group is itself plus its partners. Two strangers liking the same
// viral post is one shared target; a bought crowd liking, following and
// sharing the same list of targets is many.

const (
	targetRing  = 32   // accounts remembered per target
	lockstepTTL = 3600 // partners count for an hour of event time after the last new one
	pairSpan    = 1800 // pairs expire after 30-60 minutes idle
	maxPairs    = 4 << 20
	maxTargets  = 1 << 20
)

type coAct struct {
	acct uint32
	t    int64
	a    *account
}

type target struct {
	ring [targetRing]coAct
	n    uint32 // entries written
}

type pair struct {
	shared   uint8  // distinct targets co-acted on
	lastTgt  uint64 // last target counted, so repeats on one target count once
	partners bool
}

type lockstep struct {
	window  int64
	need    uint8
	h       hasher
	targets *gen[*target]
	pairs   *gen[*pair]
}

func (l *lockstep) init(cfg Config, h hasher) {
	l.window = int64(cfg.LockstepWindow.Seconds())
	if l.window < 1 {
		l.window = 1
	}
	l.need = uint8(min(cfg.LockstepTargets, 255))
	l.h = h
	l.targets = newGen[*target](max(l.window*4, 300), maxTargets)
	l.pairs = newGen[*pair](pairSpan, maxPairs)
}

func (l *lockstep) tick(now int64) {
	l.targets.tick(now)
	l.pairs.tick(now)
}

// observe records that a acted on tgt at t and returns a's lockstep group
// size (0 if it has no partners).
func (l *lockstep) observe(a *account, tgt string, t int64) int {
	tk := l.h.key('t', tgt)
	tg, ok := l.targets.get(tk)
	if !ok {
		tg = &target{}
		l.targets.put(tk, tg)
	}
	n := min(int(tg.n), targetRing)
	again := false
	for i := 0; i < n; i++ {
		if tg.ring[i].acct == a.id {
			again = true
			break
		}
	}
	if !again {
		for i := 0; i < n; i++ {
			c := &tg.ring[i]
			d := t - c.t
			if d > l.window || d < -l.window {
				continue
			}
			lo, hi := a.id, c.acct
			if lo > hi {
				lo, hi = hi, lo
			}
			pk := uint64(lo)<<32 | uint64(hi)
			p, ok := l.pairs.get(pk)
			if !ok {
				p = &pair{}
				l.pairs.put(pk, p)
			}
			if p.lastTgt == tk {
				continue
			}
			p.lastTgt = tk
			if p.shared < 255 {
				p.shared++
			}
			if p.shared >= l.need && !p.partners {
				p.partners = true
				for _, x := range [2]*account{a, c.a} {
					if t-x.partnersLast > lockstepTTL {
						x.partners = 0
					}
					x.partners++
					x.partnersLast = max(x.partnersLast, t)
				}
			}
		}
		tg.ring[tg.n%targetRing] = coAct{acct: a.id, t: t, a: a}
		tg.n++
	}
	if a.partners == 0 || t-a.partnersLast > lockstepTTL {
		return 0
	}
	return a.partners + 1
}
