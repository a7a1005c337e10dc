package httpapi

import (
	"net/http"
	"slices"
	"sync"
)

// Mux is the server's request router: an http.ServeMux that remembers every
// pattern registered on it, the /v1 calls (Server.Route) and everything
// mounted beside them (the console's pages, health, the OpenAPI document).
// Patterns lets the role × route matrix test check that no route was
// mounted without a declared audience.
type Mux struct {
	mux      *http.ServeMux
	mu       sync.Mutex
	patterns []string
}

func newMux() *Mux { return &Mux{mux: http.NewServeMux()} }

// Handle registers h for pattern, as http.ServeMux.Handle does.
func (m *Mux) Handle(pattern string, h http.Handler) {
	m.record(pattern)
	m.mux.Handle(pattern, h)
}

// HandleFunc registers h for pattern, as http.ServeMux.HandleFunc does.
func (m *Mux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.record(pattern)
	m.mux.HandleFunc(pattern, h)
}

// ServeHTTP routes r to the handler of the pattern it matches.
func (m *Mux) ServeHTTP(w http.ResponseWriter, r *http.Request) { m.mux.ServeHTTP(w, r) }

// Patterns returns every registered pattern, sorted.
func (m *Mux) Patterns() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(slices.Values(m.patterns))
}

func (m *Mux) record(pattern string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.patterns = append(m.patterns, pattern)
}

// Handler returns the handler r would be routed to and its pattern, as
// http.ServeMux.Handler does.
func (m *Mux) Handler(r *http.Request) (http.Handler, string) { return m.mux.Handler(r) }
