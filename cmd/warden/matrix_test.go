package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/httpapi"
	"github.com/wardenhq/warden/incident"
	"github.com/wardenhq/warden/ingest"
	"github.com/wardenhq/warden/internal/httpx"
	"github.com/wardenhq/warden/mfa"
	"github.com/wardenhq/warden/notify"
	"github.com/wardenhq/warden/partner"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
	"github.com/wardenhq/warden/survey"
	"github.com/wardenhq/warden/web"
)

// publicAPIRoutes are the routes the API server serves to anyone, outside
// the /v1 route table. A new public route is added here on purpose, or the
// matrix fails.
var publicAPIRoutes = []string{"GET /healthz", "GET /openapi.json", "GET /.well-known/jwks.json"}

// unroutedPattern answers, to anyone, the /v1 calls no route takes with
// the JSON 404 or 405.
const unroutedPattern = "/v1/"

// matrixServer is serve's HTTP server, with every route mountRoutes
// registers, over a real store, on loopback.
type matrixServer struct {
	srv      *httptest.Server
	db       *sqlstore.DB
	api      *httpapi.Server
	console  *web.Console
	partners *partner.Service
	priv     *privacy
	// Every request comes from its own client address (forwarded by the
	// test, a trusted proxy), so that the per-address limits on calls
	// without a valid key answer none of them with 429.
	client atomic.Int64
}

func newMatrixServer(t *testing.T, db *sqlstore.DB) *matrixServer {
	t.Helper()
	return newServed(t, db, matrixPartners())
}

// matrixPartners turns partner sharing on, so the partner calls answer as
// they do in use.
func matrixPartners() partner.Config {
	return partner.Config{GroupKey: bytes.Repeat([]byte("g"), partner.MinKeySize),
		SigningKey: ed25519.NewKeyFromSeed(bytes.Repeat([]byte("s"), ed25519.SeedSize)), Issuer: "matrix.example", K: partner.DefaultK}
}

// testSurveySalt is the survey salt of newServed's servers.
var testSurveySalt = []byte("the matrix test's survey salt, 32+ bytes")

// newServed is serve's HTTP server over db, with partner sharing
// configured by pc (its Store is db).
func newServed(t *testing.T, db *sqlstore.DB, pc partner.Config) *matrixServer {
	t.Helper()
	return newServedWith(t, db, pc, nil)
}

// newServedWith is newServed whose deliveries (notices, decision events,
// effects) go to out, as serve's go to its outbox worker; nil: none.
func newServedWith(t *testing.T, db *sqlstore.DB, pc partner.Config, out *notify.Worker) *matrixServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	logger := slog.New(slog.DiscardHandler)
	reg := prometheus.NewRegistry()
	iopt := incident.Options{DB: db, Logger: logger}
	var outbound ingest.Outbound
	if out != nil {
		iopt.Outbound, outbound = out, out
	}
	svc, err := incident.New(ctx, iopt)
	if err != nil {
		t.Fatal(err)
	}
	pc.Store = db
	ps, err := partner.New(ctx, pc)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := openEngine(serveConfig{data: t.TempDir()}, db, svc, ps, logger, reg)
	if err != nil {
		t.Fatal(err)
	}
	evlog := sqlstore.NewEventLog(db)
	t.Cleanup(evlog.Close)
	// As serve does: flagged verdicts and ladder restrictions reach cases.
	bridge := svc.NewVerdictBridge(0)
	go bridge.Run(ctx)
	in, err := ingest.New(ctx, ingest.Options{Log: evlog, Engine: eng, Logger: logger, Registerer: reg, OnAccepted: bridge.Observe, Outbound: outbound})
	if err != nil {
		t.Fatal(err)
	}
	proxies, err := httpx.ParseProxies("127.0.0.1, ::1")
	if err != nil {
		t.Fatal(err)
	}
	api := httpapi.New(httpapi.Options{DB: db, Ingest: in, Logger: logger, Registry: reg, TrustedProxies: proxies})
	priv, err := openPrivacy(t.TempDir(), db, "")
	if err != nil {
		t.Fatal(err)
	}
	console := mountRoutes(api, db, eng, svc, ps, priv, testSurveySalt, survey.DefaultThemes(), logger, nil)
	if console == nil {
		t.Fatal("the console was not mounted")
	}
	console.MountCluster(nil) // as serve does on one node
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	return &matrixServer{srv: srv, db: db, api: api, console: console, partners: ps, priv: priv}
}

// call sends method to pattern's path (wildcards filled with ids that name
// nothing) and returns the status, the Location header and the body.
func (m *matrixServer) call(t *testing.T, pattern string, hdr http.Header) (int, string, string) {
	t.Helper()
	method, path := splitPattern(pattern)
	var body io.Reader
	if method != http.MethodGet && method != http.MethodHead {
		body = strings.NewReader("{}")
	}
	req, err := http.NewRequest(method, m.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = hdr.Clone()
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	n := m.client.Add(1)
	req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.18.%d.%d", n/250%250, n%250+1))
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

var wildcard = regexp.MustCompile(`\{[^}]*\}`)

// splitPattern turns "POST /cases/{id}/claim" into POST and
// /cases/999999/claim; "GET /{$}" is GET /, "GET /static/" GET /static/x.
func splitPattern(pattern string) (method, path string) {
	method, path, _ = strings.Cut(pattern, " ")
	path = strings.ReplaceAll(path, "{$}", "")
	path = wildcard.ReplaceAllString(path, "999999")
	if strings.HasSuffix(path, "/") && path != "/" {
		path += "x"
	}
	return method, path
}

// allowed reports whether role may use a route declared for roles: admins
// always, anyone signed in when roles is empty.
func allowed(role string, roles []string, emptyMeansAll bool) bool {
	return role == warden.RoleAdmin || slices.Contains(roles, role) || (emptyMeansAll && len(roles) == 0)
}

func bearer(secret string) http.Header {
	h := http.Header{}
	if secret != "" {
		h.Set("Authorization", "Bearer "+secret)
	}
	return h
}

// errorCode is the code of the contract's error body, "" if body is not one.
func errorCode(body string) string {
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	if json.Unmarshal([]byte(body), &e) != nil {
		return ""
	}
	return e.Error.Code
}

// TestRoleRouteMatrix calls every route serve mounts, /v1 and console, as
// every kind of caller, and checks each answer against the roles the
// route's table declares: 401 (or, for a console page, the way to the
// sign-in page) without valid credentials, 403 for a role the route does not
// admit or a cross-site console post, and anything but a permission error
// for a caller it admits. A route mounted outside the tables fails it.
func TestRoleRouteMatrix(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		m := newMatrixServer(t, db)
		t.Run("every mounted route is in a route table", func(t *testing.T) { m.checkTables(t) })
		t.Run("api", func(t *testing.T) { m.apiMatrix(t) })
		t.Run("console", func(t *testing.T) { m.consoleMatrix(t) })
	})
}

func (m *matrixServer) checkTables(t *testing.T) {
	declared := map[string]bool{}
	for _, p := range publicAPIRoutes {
		declared[p] = true
	}
	declared[unroutedPattern] = true
	for _, rt := range m.api.Routes() {
		declared[rt.Pattern] = true
	}
	for _, rt := range m.console.Routes() {
		declared[rt.Pattern] = true
	}
	for _, p := range m.api.Mux().Patterns() {
		if !declared[p] {
			t.Errorf("%q is served but in no route table: register /v1 calls with httpapi.Server.Route and console pages with web.Console.Page, so that their roles are declared and the matrix calls them", p)
		}
	}
}

type apiCaller struct {
	name, role, secret string // role "": no valid key
}

func (m *matrixServer) apiCallers(t *testing.T) []apiCaller {
	ctx := context.Background()
	var out []apiCaller
	for _, role := range warden.Roles {
		secret, _, err := m.db.CreateKey(ctx, role, "matrix-"+role)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, apiCaller{name: role + " key", role: role, secret: secret})
	}
	secret, k, err := m.db.CreateKey(ctx, warden.RoleAdmin, "matrix-revoked")
	if err != nil {
		t.Fatal(err)
	}
	// Used first, so the server has it cached, then revoked through the
	// API: every cell must see it refused at once.
	if code, _, body := m.call(t, "GET /v1/keys", bearer(secret)); code != 200 {
		t.Fatalf("the key to revoke: %d %s", code, body)
	}
	var admin string
	for _, c := range out {
		if c.role == warden.RoleAdmin {
			admin = c.secret
		}
	}
	if code, _, body := m.call(t, "DELETE /v1/keys/"+k.ID, bearer(admin)); code != 200 {
		t.Fatalf("revoke: %d %s", code, body)
	}
	return append(out,
		apiCaller{name: "no key"},
		apiCaller{name: "revoked admin key", secret: secret},
		apiCaller{name: "unknown key", secret: "wk_matrix_not_a_key"})
}

func (m *matrixServer) apiMatrix(t *testing.T) {
	callers := m.apiCallers(t)
	routes := m.api.Routes()
	if len(routes) == 0 {
		t.Fatal("no /v1 routes")
	}
	t.Run(unroutedPattern, func(t *testing.T) {
		for _, c := range callers {
			if code, _, body := m.call(t, "GET /v1/no-such-call", bearer(c.secret)); code != 404 || !strings.Contains(body, `"not_found"`) {
				t.Errorf("%s: %d %s, want the JSON 404", c.name, code, body)
			}
		}
	})
	for _, p := range publicAPIRoutes {
		t.Run(p, func(t *testing.T) {
			for _, c := range callers {
				if code, _, body := m.call(t, p, bearer(c.secret)); code >= 400 {
					t.Errorf("%s: %d %s, want the public answer", c.name, code, body)
				}
			}
		})
	}
	for _, rt := range routes {
		t.Run(rt.Pattern, func(t *testing.T) {
			if !strings.HasPrefix(rt.Pattern, strings.SplitN(rt.Pattern, " ", 2)[0]+" /v1/") {
				t.Errorf("%q: /v1 routes live under /v1/", rt.Pattern)
			}
			for _, c := range callers {
				code, _, body := m.call(t, rt.Pattern, bearer(c.secret))
				switch {
				case c.role == "":
					if code != http.StatusUnauthorized || errorCode(body) != warden.EUNAUTHORIZED {
						t.Errorf("%s: %d %s, want 401 unauthorized", c.name, code, body)
					}
				case allowed(c.role, rt.Roles, false):
					if code == http.StatusUnauthorized || code == http.StatusForbidden || code >= 500 {
						t.Errorf("%s: %d %s, want no permission error (declared roles %v)", c.name, code, body, rt.Roles)
					}
				default:
					if code != http.StatusForbidden || errorCode(body) != warden.EFORBIDDEN {
						t.Errorf("%s: %d %s, want 403 forbidden (declared roles %v)", c.name, code, body, rt.Roles)
					}
				}
			}
		})
	}
}

type consoleCaller struct {
	name, role string       // role "": not signed in
	user       *warden.User // nil: no session cookie
	signedOut  bool         // the session was ended before the call
}

func (m *matrixServer) consoleCallers(t *testing.T) []consoleCaller {
	var out []consoleCaller
	for _, role := range warden.UserRoles {
		u, err := m.db.CreateUser(context.Background(), "matrix_"+role, "correct horse battery staple", role)
		if err != nil {
			t.Fatal(err)
		}
		if role == warden.RoleAdmin {
			enrolConsoleUser(t, m.priv.mfa, &u)
		}
		out = append(out, consoleCaller{name: role + " session", role: role, user: &u})
	}
	admin := out[slices.IndexFunc(out, func(c consoleCaller) bool { return c.role == warden.RoleAdmin })].user
	return append(out,
		consoleCaller{name: "no session"},
		consoleCaller{name: "signed-out admin session", user: admin, signedOut: true})
}

// headers are those of a request from c's browser: a session cookie (a new
// session per call, since one cell signs out), and for a post the session's
// CSRF token and the console's own origin, as a console page sends them.
func (m *matrixServer) headers(t *testing.T, c consoleCaller, unsafe bool) http.Header {
	t.Helper()
	h := http.Header{}
	if c.user == nil {
		return h
	}
	tok, s, err := m.db.CreateSession(context.Background(), *c.user)
	if err != nil {
		t.Fatal(err)
	}
	if c.signedOut {
		if err := m.db.DeleteSession(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}
	h.Set("Cookie", web.CookieName+"="+tok)
	if unsafe {
		h.Set("Content-Type", "application/x-www-form-urlencoded")
		h.Set("Origin", m.srv.URL)
		h.Set("Sec-Fetch-Site", "same-origin")
		h.Set("X-CSRF-Token", s.CSRF)
	}
	return h
}

func (m *matrixServer) consoleMatrix(t *testing.T) {
	callers := m.consoleCallers(t)
	admin := callers[slices.IndexFunc(callers, func(c consoleCaller) bool { return c.role == warden.RoleAdmin })]
	for _, rt := range m.console.Routes() {
		t.Run(rt.Pattern, func(t *testing.T) {
			method, _ := splitPattern(rt.Pattern)
			unsafe := method != http.MethodGet && method != http.MethodHead
			for _, c := range callers {
				code, loc, _ := m.call(t, rt.Pattern, m.headers(t, c, unsafe))
				toSignIn := code == http.StatusSeeOther && strings.HasPrefix(loc, "/signin?next=")
				switch {
				case rt.Public || (c.role != "" && allowed(c.role, rt.Roles, true)):
					if code == http.StatusUnauthorized || code == http.StatusForbidden || toSignIn || code >= 500 {
						t.Errorf("%s: %d (to %q), want no permission error (declared roles %v)", c.name, code, loc, rt.Roles)
					}
				case c.role == "" && !unsafe:
					if !toSignIn {
						t.Errorf("%s: %d (to %q), want 303 to the sign-in page", c.name, code, loc)
					}
				case c.role == "":
					if code != http.StatusUnauthorized {
						t.Errorf("%s: %d, want 401", c.name, code)
					}
				default:
					if code != http.StatusForbidden {
						t.Errorf("%s: %d, want 403 (declared roles %v)", c.name, code, rt.Roles)
					}
				}
			}
			if !unsafe {
				return
			}
			crossSite := m.headers(t, admin, true)
			crossSite.Set("Origin", "https://attacker.example")
			crossSite.Set("Sec-Fetch-Site", "cross-site")
			if code, _, _ := m.call(t, rt.Pattern, crossSite); code != http.StatusForbidden {
				t.Errorf("cross-site post with an admin session: %d, want 403", code)
			}
			if rt.Public {
				return // no session, no token to check: the origin check alone guards it
			}
			noToken := m.headers(t, admin, true)
			noToken.Del("X-CSRF-Token")
			if code, _, _ := m.call(t, rt.Pattern, noToken); code != http.StatusForbidden {
				t.Errorf("same-origin post with an admin session but no CSRF token: %d, want 403", code)
			}
		})
	}
}

// enrolConsoleUser turns on u's two-factor sign-in, as an admin does on the
// console's enrolment page, so that their session reaches every page.
func enrolConsoleUser(t *testing.T, svc *mfa.Service, u *warden.User) {
	t.Helper()
	ctx := context.Background()
	e, err := svc.Begin(ctx, mfa.ConsoleNamespace+u.ID, mfa.Prompt{Moment: "console"})
	if err != nil {
		t.Fatal(err)
	}
	code, err := mfa.Code(e.Secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Confirm(ctx, mfa.ConsoleNamespace+u.ID, code); err != nil {
		t.Fatal(err)
	}
}
