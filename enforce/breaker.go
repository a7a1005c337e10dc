package enforce

// rolling counts events in a sliding window of event time: len(Counts)
// buckets of Width µs each, the newest at index Head (time / Width).
// Deterministic: the same events in the same order give the same sums.
type rolling struct {
	Width  int64
	Head   int64
	Counts []int64
	Sum    int64
}

func newRolling(width int64, n int) rolling {
	return rolling{Width: max(width, 1), Counts: make([]int64, n)}
}

// advance moves the window so that its newest bucket holds t.
func (r *rolling) advance(t int64) {
	i := t / r.Width
	if i <= r.Head {
		return
	}
	n := int64(len(r.Counts))
	for k := max(r.Head+1, i-n+1); k <= i; k++ {
		slot := k % n
		r.Sum -= r.Counts[slot]
		r.Counts[slot] = 0
	}
	r.Head = i
}

// add counts one event at t; one older than the window is not counted.
func (r *rolling) add(t int64) {
	r.advance(t)
	i := t / r.Width
	if i <= r.Head-int64(len(r.Counts)) {
		return
	}
	r.Counts[i%int64(len(r.Counts))]++
	r.Sum++
}

// sum is the count of the window ending at t.
func (r *rolling) sum(t int64) int64 {
	r.advance(t)
	return r.Sum
}

// traffic is a recent window and a baseline of counts.
type traffic struct {
	Recent, Base rolling
}

// windowBuckets and baseBuckets divide the window and the baseline.
const (
	windowBuckets = 10
	baseBuckets   = 24
)

func newTraffic(window, baseline int64) traffic {
	return traffic{Recent: newRolling(window/windowBuckets, windowBuckets), Base: newRolling(baseline/baseBuckets, baseBuckets)}
}

func (t *traffic) add(at int64) {
	t.Recent.add(at)
	t.Base.add(at)
}

// breaker is one rule's circuit breaker: its hits, and whether (since
// when, at what shares) it is tripped.
type breaker struct {
	Hits      traffic
	TrippedAt int64   // event time of the trip, unix µs; 0: armed
	Share     float64 // the rule's share of the window's events at the trip
	Usual     float64 // its usual share then
	// ArmedAt is the last re-arm applied (event time), ArmedShare the
	// rule's share then: for a baseline after a re-arm, the usual share is
	// at least that, so the traffic an admin accepted does not trip it
	// again at once.
	ArmedAt    int64
	ArmedShare float64
}

// shares returns the rule's share of the window's events and its usual
// share (of the baseline's events before the window, at least one hit's
// worth), and whether there was traffic enough to judge.
func (b *breaker) shares(total *traffic, now int64, rv *RuleValves, baseline int64) (share, usual float64, ok bool) {
	rt, bt := total.Recent.sum(now), total.Base.sum(now)
	rh, bh := b.Hits.Recent.sum(now), b.Hits.Base.sum(now)
	outT, outH := bt-rt, max(bh-rh, 0)
	if rt <= 0 {
		return 0, 0, false
	}
	share = float64(rh) / float64(rt)
	if outT > 0 {
		usual = max(float64(outH), 1) / float64(outT)
	}
	if b.ArmedAt != 0 && now-b.ArmedAt < baseline {
		usual = max(usual, b.ArmedShare)
	}
	ok = rt >= int64(rv.BreakerMinEvents) && outT >= int64(rv.BreakerMinEvents) && rh >= int64(rv.BreakerMinHits) && share >= rv.BreakerMinShare
	return share, usual, ok
}
