package web

import (
	"net/http"
	"slices"
	"strings"
)

// Route is one console route with its audience, as the role × route matrix
// test reads it.
type Route struct {
	Pattern string   // "POST /cases/{id}/claim"
	Roles   []string // who may use it (admins always may); empty: any signed-in user
	Public  bool     // needs no sign-in: the sign-in page and the static files
}

// Routes returns every route the console registered, sorted by pattern.
func (c *Console) Routes() []Route {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := slices.Clone(c.routes)
	slices.SortFunc(out, func(a, b Route) int { return strings.Compare(a.Pattern, b.Pattern) })
	return out
}

func (c *Console) record(r Route) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.routes = append(c.routes, r)
}

// public registers h for pattern for everyone, signed in or not.
func (c *Console) public(pattern string, h http.Handler) {
	c.record(Route{Pattern: pattern, Public: true})
	c.mux.Handle(pattern, h)
}
