package httpx

import (
	"sync"
	"time"
)

// Limiter is a token bucket per key (a client address, a reporter …), kept
// compact: one small struct per active key, no goroutine or timer, and idle
// keys swept once the map grows past its maximum.
type Limiter struct {
	mu    sync.Mutex
	rate  float64 // tokens per second
	burst float64
	max   int
	b     map[string]bucket
	now   func() time.Time
}

type bucket struct {
	tokens float64
	last   int64 // unix nanoseconds
}

// NewLimiter returns a limiter giving each key rate tokens per second, up to
// burst, and keeping at most max keys.
func NewLimiter(rate float64, burst, max int) *Limiter {
	return &Limiter{rate: rate, burst: float64(burst), max: max, b: make(map[string]bucket), now: time.Now}
}

// Allow takes one token from key's bucket and reports whether there was one.
func (l *Limiter) Allow(key string) bool {
	now := l.now().UnixNano()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.b[key]
	if !ok {
		if len(l.b) >= l.max {
			l.sweep(now)
		}
		b = bucket{tokens: l.burst, last: now}
	}
	b.tokens = min(l.burst, b.tokens+float64(now-b.last)/1e9*l.rate)
	b.last = now
	if b.tokens < 1 {
		l.b[key] = b
		return false
	}
	b.tokens--
	l.b[key] = b
	return true
}

// sweep drops buckets that have refilled (their keys are idle); if that
// frees nothing, it drops everything rather than grow without bound.
func (l *Limiter) sweep(now int64) {
	for k, b := range l.b {
		if b.tokens+float64(now-b.last)/1e9*l.rate >= l.burst {
			delete(l.b, k)
		}
	}
	if len(l.b) >= l.max {
		clear(l.b)
	}
}
