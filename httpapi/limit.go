package httpapi

import (
	"net/http"
	"sync"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/sqlstore"
)

// ClientAddr is the address of the client that sent r, without the port:
// the connection's peer, or behind the server's trusted proxies
// (Options.TrustedProxies) the address they forwarded for. Rate limits key
// on it.
func (s *Server) ClientAddr(r *http.Request) string { return s.clients.Addr(r) }

// keyCache remembers recently verified API keys so that a busy client does
// not cost a database lookup per request. A key revoked through this server
// is forgotten at once; one revoked elsewhere stops working within ttl.
type keyCache struct {
	mu  sync.Mutex
	ttl time.Duration
	m   map[string]cachedKey
}

type cachedKey struct {
	key     warden.APIKey
	expires time.Time
}

func (c *keyCache) get(secret string) (warden.APIKey, bool) {
	h := sqlstore.HashToken(secret)
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[h]
	if !ok || time.Now().After(e.expires) {
		return warden.APIKey{}, false
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

func (c *keyCache) put(secret string, k warden.APIKey) {
	h := sqlstore.HashToken(secret)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) > 10000 {
		c.m = make(map[string]cachedKey)
	}
	c.m[h] = cachedKey{key: k, expires: time.Now().Add(c.ttl)}
}
