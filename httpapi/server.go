// Package httpapi serves Warden's HTTP API: the /v1 calls of the contract,
// health, metrics and the OpenAPI description. Other packages (the console,
// incidents) add their routes through Route, which puts authentication, role
// checks, error rendering, metrics and the OpenAPI entry in one place.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/internal/httpx"
	"github.com/wardenhq/warden/sqlstore"
)

// Options configure a Server.
type Options struct {
	DB       *sqlstore.DB
	Ingest   Ingester // *ingest.Ingester on one node, *cluster.Node in a cluster
	Logger   *slog.Logger
	Registry *prometheus.Registry // metrics are registered here and served on the admin handler
	// PublicRate is how many requests per second one client address may make
	// to public or failing-auth endpoints (burst 4x). Zero means 20.
	PublicRate float64
	// TrustedProxies are the reverse proxies (load balancers) in front of
	// the server. A request from one of them is attributed to the address
	// it forwarded for in X-Forwarded-For; without them every client behind
	// a proxy would share one rate limit. Empty: the connection's peer.
	TrustedProxies []netip.Prefix
}

// Ingester answers POST /v1/events: the verdicts of evs, as JSON, in
// order, once they are durable.
type Ingester interface {
	Ingest(ctx context.Context, evs []warden.Event) ([][]byte, error)
}

// Server is the HTTP API.
type Server struct {
	opt     Options
	mux     *Mux
	keys    keyCache
	public  *httpx.Limiter
	routes  []RouteSpec
	schemas map[string]json.RawMessage
	routeMu sync.Mutex
	clients httpx.ClientResolver
	ready   func() bool

	latency *prometheus.HistogramVec
}

// HandlerFunc handles an authenticated call. A returned *warden.Error becomes
// a 4xx with its code, message and field; any other error a logged 500.
type HandlerFunc func(w http.ResponseWriter, r *http.Request, p *warden.Principal) error

// RouteSpec describes one /v1 call for routing, authorisation and the
// OpenAPI document. Request and Response are JSON Schemas (may be nil).
type RouteSpec struct {
	Pattern  string   // "POST /v1/events"
	Roles    []string // who may call it; admins always may
	Summary  string
	Request  json.RawMessage
	Response json.RawMessage
	Status   int // success status, 200 if zero
	// ContentType of the success response, "application/json" if empty.
	ContentType string
}

// New returns a Server with the foundation's routes registered.
func New(opt Options) *Server {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Registry == nil {
		opt.Registry = prometheus.NewRegistry()
	}
	if opt.PublicRate == 0 {
		opt.PublicRate = 20
	}
	s := &Server{opt: opt, mux: newMux(), public: httpx.NewLimiter(opt.PublicRate, int(opt.PublicRate*4), 100000),
		clients: httpx.ClientResolver{Trusted: opt.TrustedProxies}}
	s.keys.ttl = 30 * time.Second
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "warden_http_request_duration_seconds", Help: "HTTP request latency by route and status.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2.5, 14),
	}, []string{"route", "code"})
	opt.Registry.MustRegister(s.latency)
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /openapi.json", s.openapi)
	s.mux.HandleFunc("/v1/", s.unrouted)
	s.routeEvents()
	s.routeKeys()
	return s
}

// SetReady sets the readiness check behind /healthz.
func (s *Server) SetReady(f func() bool) { s.ready = f }

// Mux is where non-/v1 handlers (the console) are mounted.
// Registerer is where the server's metrics are registered: a feature's
// collectors added here are served on /metrics with them.
func (s *Server) Registerer() prometheus.Registerer { return s.opt.Registry }

func (s *Server) Mux() *Mux { return s.mux }

// Handler returns the public handler.
func (s *Server) Handler() http.Handler { return securityHeaders(s.mux) }

// AdminHandler serves /metrics and /healthz; it belongs on a listener that
// only operators reach.
func (s *Server) AdminHandler() http.Handler {
	m := http.NewServeMux()
	m.Handle("GET /metrics", promhttp.HandlerFor(s.opt.Registry, promhttp.HandlerOpts{Registry: s.opt.Registry}))
	m.HandleFunc("GET /healthz", s.healthz)
	return m
}

func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'")
		h.ServeHTTP(w, r)
	})
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if s.ready != nil && !s.ready() {
		writeError(w, warden.Errorf(warden.EUNAVAILABLE, "starting or shutting down"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"status":"ok","version":"` + warden.Version + `"}`))
}

// unrouted answers a /v1 request no route takes in the contract's error
// format: 405 with Allow when the path exists for other methods, else 404.
func (s *Server) unrouted(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "" && pattern != "/v1/" {
			allow = append(allow, m)
		}
	}
	var b errorBody
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		b.Error.Code, b.Error.Message = "method_not_allowed", fmt.Sprintf("%s %s is not a call; this path takes %s", r.Method, r.URL.Path, strings.Join(allow, ", "))
		WriteJSON(w, http.StatusMethodNotAllowed, b)
		return
	}
	b.Error.Code, b.Error.Message = warden.ENOTFOUND, fmt.Sprintf("no call %s %s; /openapi.json lists every call", r.Method, r.URL.Path)
	WriteJSON(w, http.StatusNotFound, b)
}

// Route registers an authenticated call.
func (s *Server) Route(spec RouteSpec, h HandlerFunc) {
	s.routeMu.Lock()
	s.routes = append(s.routes, spec)
	s.routeMu.Unlock()
	label := spec.Pattern
	s.mux.HandleFunc(spec.Pattern, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rw := &statusWriter{ResponseWriter: w, code: 200}
		defer func() {
			s.latency.WithLabelValues(label, strconv.Itoa(rw.code)).Observe(time.Since(start).Seconds())
		}()
		p, err := s.authenticate(r)
		if err == nil && !p.Can(spec.Roles...) {
			err = warden.Errorf(warden.EFORBIDDEN, "a %s key may not call %s; this needs one of: %s", p.Role, spec.Pattern, strings.Join(spec.Roles, ", "))
		}
		if err == nil {
			err = h(rw, r, p)
		}
		if err != nil {
			s.fail(rw, r, err)
		}
	})
}

// Routes returns the registered /v1 calls, sorted by pattern.
func (s *Server) Routes() []RouteSpec {
	s.routeMu.Lock()
	defer s.routeMu.Unlock()
	out := append([]RouteSpec(nil), s.routes...)
	sort.Slice(out, func(i, j int) bool { return out[i].Pattern < out[j].Pattern })
	return out
}

func (s *Server) authenticate(r *http.Request) (*warden.Principal, error) {
	h := r.Header.Get("Authorization")
	secret, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || secret == "" {
		if !s.public.Allow(s.ClientAddr(r)) {
			return nil, warden.Errorf(warden.ERATELIMIT, "too many requests without a valid key; slow down")
		}
		return nil, warden.Errorf(warden.EUNAUTHORIZED, "send an API key: Authorization: Bearer <key> (create one with `warden keys create --role ROLE`)")
	}
	if k, ok := s.keys.get(secret); ok {
		return &warden.Principal{ID: k.ID, Name: k.Name, Role: k.Role, Kind: "key"}, nil
	}
	// Unknown secrets cost a database lookup: limit them per client.
	if !s.public.Allow(s.ClientAddr(r)) {
		return nil, warden.Errorf(warden.ERATELIMIT, "too many requests with invalid keys; slow down")
	}
	k, err := s.opt.DB.KeyBySecret(r.Context(), secret)
	if err != nil {
		return nil, err
	}
	s.keys.put(secret, k)
	return &warden.Principal{ID: k.ID, Name: k.Name, Role: k.Role, Kind: "key"}, nil
}

// fail writes err as the contract's error body and logs what an operator
// needs.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, context.Canceled):
		// The client went away; nothing failed on our side.
		s.opt.Logger.Info("request canceled", "method", r.Method, "path", r.URL.Path)
	case warden.ErrorCode(err) == warden.EINTERNAL:
		s.opt.Logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeError(w, err)
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field,omitempty"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, err error) {
	var b errorBody
	b.Error.Code = warden.ErrorCode(err)
	b.Error.Message = warden.ErrorMessage(err)
	var we *warden.Error
	if errors.As(err, &we) {
		b.Error.Field = we.Field
	}
	status := httpx.StatusOf(b.Error.Code)
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="warden"`)
	}
	if v, ok := retryAfterOf(err); ok {
		w.Header().Set("Retry-After", v)
	} else if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	WriteJSON(w, status, b)
}

// WriteJSON writes v as a JSON response with status.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// DecodeJSON reads a JSON request body of at most limit bytes into v,
// strictly: unknown fields, trailing data and wrong types are *warden.Error
// values naming the field.
func DecodeJSON(r *http.Request, limit int64, v any) error {
	body, err := ReadBody(r, limit)
	if err != nil {
		return err
	}
	return warden.DecodeStrict(body, v)
}

// ReadBody reads the request body, failing with ETOOLARGE past limit bytes.
func ReadBody(r *http.Request, limit int64) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, warden.Errorf(warden.EINVALID, "could not read the body: %v", err)
	}
	if int64(len(body)) > limit {
		return nil, warden.Errorf(warden.ETOOLARGE, "the body is over the limit of %d bytes", limit)
	}
	return body, nil
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
