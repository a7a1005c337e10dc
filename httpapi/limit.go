package httpapi

import (
	"net/http"
	"sync"
	"time"

	"github.com/wardenhq/warden/sqlstore"
)

// limiter is a token bucket per key (a client address, a reporter …), kept
// compact: one small struct per active key, no goroutine or timer, and idle
// keys swept once the map grows past max.
type limiter struct {
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

func newLimiter(rate float64, burst, max int) *limiter {
	return &limiter{rate: rate, burst: float64(burst), max: max, b: make(map[string]bucket), now: time.Now}
}

// NewLimiter returns a per-key token bucket limiter for other packages'
// public endpoints (rate per second, burst, keys kept at most).
func NewLimiter(rate float64, burst, max int) interface{ Allow(key string) bool } {
	return newLimiter(rate, burst, max)
}

// Allow takes one token from key's bucket and reports whether there was one.
func (l *limiter) Allow(key string) bool {
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
func (l *limiter) sweep(now int64) {
	for k, b := range l.b {
		if b.tokens+float64(now-b.last)/1e9*l.rate >= l.burst {
			delete(l.b, k)
		}
	}
	if len(l.b) >= l.max {
		clear(l.b)
	}
}

// ClientAddr is the address of the client that sent r, without the port:
// the connection's peer, or behind the server's trusted proxies
// (Options.TrustedProxies) the address they forwarded for. Rate limits key
// on it.
func (s *Server) ClientAddr(r *http.Request) string { return s.clients.addr(r) }

// keyCache remembers recently verified API keys so that a busy client does
// not cost a database lookup per request. A key revoked through this server
// is forgotten at once; one revoked elsewhere stops working within ttl.
type keyCache struct {
	mu  sync.Mutex
	ttl time.Duration
	m   map[string]cachedKey
}

type cachedKey struct {
	key     sqlstore.APIKey
	expires time.Time
}

func (c *keyCache) get(secret string) (sqlstore.APIKey, bool) {
	h := sqlstore.HashToken(secret)
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[h]
	if !ok || time.Now().After(e.expires) {
		return sqlstore.APIKey{}, false
	}
	return e.key, true
}

// forget drops the cached entries of key id.
func (c *keyCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for h, e := range c.m {
		if e.key.ID == id {
			delete(c.m, h)
		}
	}
}

func (c *keyCache) put(secret string, k sqlstore.APIKey) {
	h := sqlstore.HashToken(secret)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) > 10000 {
		c.m = make(map[string]cachedKey)
	}
	c.m[h] = cachedKey{key: k, expires: time.Now().Add(c.ttl)}
}
