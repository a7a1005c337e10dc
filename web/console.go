// Package web serves Warden's console: server-rendered pages for people
// (moderators, analysts, admins) behind a password sign-in, made live with
// htmx. Everything it needs (templates, htmx, the stylesheet) is embedded in
// the binary; no CDN is contacted at run time.
//
// # Adding a page
//
// Other packages' pages live in this package (for example web/cases*.go) and
// are registered on the *Console, usually from a Mount method that wire.go
// calls after New:
//
//	c.Page("GET /cases", []string{warden.RoleModerator}, func(w http.ResponseWriter, r *http.Request, u *warden.User) error {
//		cases, err := svc.Queue(r.Context())
//		if err != nil {
//			return err
//		}
//		return c.Render(w, r, "cases.html", cases)
//	})
//	c.Nav("Queue", "/cases", warden.RoleModerator)
//
// Services that take a *warden.Principal (for role checks and the audit
// log) get the signed-in user as web.UserPrincipal(u).
//
// Page wraps the handler so that it only runs for a signed-in user whose role
// is one of roles (admins may do anything; nil or empty roles means any
// signed-in user). Someone not signed in is sent to the sign-in page (and
// back afterwards); the wrong role gets a 403 page. Every request whose
// method is not GET, HEAD or OPTIONS is checked for cross-site request
// forgery before the handler runs: it must come from the console's own origin
// (Sec-Fetch-Site / Origin, see http.CrossOriginProtection) and carry the
// session's CSRF token, either in the form field "csrf" (put
// {{template "csrf" $}} inside every <form method="post">) or in the
// X-CSRF-Token header, which static/console.js adds to every htmx request
// from the <meta name="csrf-token"> tag of the layout.
//
// A handler's error is shown to the person: a *warden.Error with its message
// and the status of its code (httpx.StatusOf); any other error is logged
// and shown as a generic 500. For htmx requests the error body is plain text,
// which console.js puts in the page's alert region (htmx does not swap 4xx
// and 5xx responses). Return nil once a response was written.
//
// Nav adds a link to the layout's navigation, shown to users with one of its
// roles, in the order registered.
//
// Routes lists every route with its roles, which the role × route matrix
// test (cmd/warden/matrix_test.go) calls as each role, signed out and
// cross-site; a handler mounted on the Mux past Page (or the console's own
// public routes) is in no table, and fails that test.
//
// # Templates
//
// Every web/templates/*.html file is embedded and loaded by New; a page that
// fails to parse makes New fail, so the package's tests catch it. There are
// three kinds of file:
//
//   - layout.html is the shell: head, navigation, the alert region, and the
//     blocks "title" and "content" that each page fills in. It also defines
//     "csrf", the hidden form field.
//   - *.partial.html files hold blocks shared by every page; they live in one
//     namespace, so prefix their block names (e.g. "cases-row").
//   - every other file is a page, parsed in a set of its own together with
//     the layout and the partials, so two pages may both define "content",
//     "title" or a fragment block of the same name. A page must define
//     "content"; it may define "title" (the text before " · Warden") and
//     "head" (more elements for <head>, such as
//     <script src="{{asset "cases.js"}}" defer></script> for a page's own
//     behaviour or keyboard shortcuts).
//
// Render(w, r, "cases.html", data) executes the layout with that page;
// Fragment(w, r, "cases.html", "cases-table", data) executes one block of
// the page alone, which is what an htmx request (hx-get with hx-trigger
// "every 2s", a form's hx-post) swaps into the page. In both the template's
// dot is a View: {{.Data}} is what the handler passed, {{.User}} the
// signed-in *warden.User, {{.CSRF}} the session's token.
//
// Template functions: asset (the URL of a file in web/static/, with a content
// hash so it can be cached), timeUS (unix microseconds, as in the store, to
// "2006-01-02 15:04:05 UTC"), clock (a time.Time to "15:04:05" UTC) and
// datetime (a time.Time to "2006-01-02 15:04:05 UTC").
//
// RenderStatus is Render with another status (422 for a form shown again
// with what to fix).
//
// A polling region (hx-trigger="every 2s") stops polling while its tab is
// hidden, and while it carries data-paused: a
// <button type="button" data-pause="ID" aria-pressed="false">Pause updates</button>
// toggles that on the element with id ID, so a reader can hold a moving list
// still (console.js).
//
// Render and Fragment also work outside Page, in the console's public pages
// (the sign-in page); the View then has no User, CSRF token or navigation.
//
// Static files: put them in web/static/; they are served at /static/NAME.
// The pages' Content-Security-Policy allows scripts and styles only from the
// console's origin, so no inline <script>, <style> or style="…".
package web

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/internal/httpx"
	"github.com/wardenhq/warden/mfa"
	"github.com/wardenhq/warden/sqlstore"
)

// Options configure a Console.
type Options struct {
	DB     *sqlstore.DB
	Feed   *Feed      // the live view of accepted events; nil shows an empty one
	Rules  RuleSource // nil: the rules page says the engine reports none
	Logger *slog.Logger
	// TrustedOrigins are origins ("https://warden.example.com") allowed to
	// send state-changing requests besides the console's own, which is
	// taken from the Host header. A reverse proxy that rewrites Host needs
	// the public origin here, or every form post is refused.
	TrustedOrigins []string
	// ClientAddr gives a request's client address, for sign-in rate limits
	// and logs; nil means the connection's peer. Behind a reverse proxy,
	// pass the API server's (httpapi.Server.ClientAddr), which knows the
	// trusted proxies.
	ClientAddr func(*http.Request) string
}

// Mux is where the console mounts its routes: an *http.ServeMux, or the
// API server's (httpapi.Server.Mux), which has the /v1 calls.
type Mux interface {
	Handle(pattern string, h http.Handler)
	HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request))
}

// Console is the console's set of pages, mounted on one Mux.
type Console struct {
	opt Options
	// trust computes the Trust pages' reports (MountInsights).
	trust TrustReporter
	// mfa, when set, is console users' two-factor sign-in (MountTwoFactor);
	// mfaAdmins requires it of admins.
	mfa       *mfa.Service
	mfaAdmins bool
	mux       Mux
	tmpl      *templates
	assets    *assets
	cop       *http.CrossOriginProtection

	mu     sync.RWMutex // guards nav and routes
	nav    []navLink
	routes []Route

	// Sign-in attempts are limited per client address and per username
	// (see signIn), and password checks, which cost 64 MiB of memory each,
	// run at most one per CPU at a time.
	ipLimit, userLimit interface{ Allow(string) bool }
	checks             chan struct{}

	// caseReads records moderators' reads of a case page in the
	// data-access ledger (MountLedgers).
	caseReads caseReadFunc
	// quality is set when the rule quality page is mounted, which the
	// rules page links to.
	quality bool
}

// PageFunc handles a console request for the signed-in user u.
type PageFunc func(w http.ResponseWriter, r *http.Request, u *warden.User) error

// View is the dot of every template the console executes.
type View struct {
	User *warden.User // nil on the sign-in page
	CSRF string       // the session's CSRF token; "" when signed out
	Nav  []NavItem    // the links this user may follow
	Data any          // what the handler passed to Render or Fragment
}

// NavItem is one link of the layout's navigation.
type NavItem struct {
	Label, Href string
	Current     bool // the page being shown is (under) Href
}

type navLink struct {
	label, href string
	roles       []string
}

// New loads the templates and static files, and registers the console's own
// pages (sign-in, sign-out, the dashboard, the rules page) on mux.
func New(mux Mux, opt Options) (*Console, error) {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Feed == nil {
		opt.Feed = NewFeed(DefaultFeedSize)
	}
	if opt.ClientAddr == nil {
		opt.ClientAddr = httpx.PeerAddr
	}
	as, err := loadAssets()
	if err != nil {
		return nil, err
	}
	tm, err := loadTemplates(as.url)
	if err != nil {
		return nil, err
	}
	c := &Console{
		opt: opt, mux: mux, tmpl: tm, assets: as,
		cop: http.NewCrossOriginProtection(),
		// Ten quick tries, then one every 6 s per address, one every 20 s
		// per username: slow enough to make guessing hopeless, fast enough
		// that a person who mistyped never notices.
		ipLimit:   httpx.NewLimiter(1.0/6, 10, 100000),
		userLimit: httpx.NewLimiter(1.0/20, 10, 100000),
		checks:    make(chan struct{}, runtime.GOMAXPROCS(0)),
	}
	for _, o := range opt.TrustedOrigins {
		if err := c.cop.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("trusted origin: %w", err)
		}
	}
	c.public("GET /static/", as)
	c.mountAuth()
	c.mountDashboard()
	c.mountRules()
	return c, nil
}

// Page registers h for pattern (a ServeMux pattern such as "GET /cases/{id}"
// or "POST /cases/{id}/decision"), for signed-in users with one of roles.
// See the package documentation for what it checks.
func (c *Console) Page(pattern string, roles []string, h PageFunc) {
	c.record(Route{Pattern: pattern, Roles: roles})
	c.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		s, err := c.session(r)
		if err != nil {
			c.needSignIn(w, r, err)
			return
		}
		if p := UserPrincipal(&s.User); len(roles) > 0 && !p.Can(roles...) {
			c.fail(w, r, warden.Errorf(warden.EFORBIDDEN, "this page is for %s users; you are signed in as %s", strings.Join(roles, " or "), s.User.Role))
			return
		}
		if !strings.HasPrefix(pattern, "GET /account/2fa") && !strings.HasPrefix(pattern, "POST /account/2fa") && pattern != "POST /signout" {
			if must, err := c.needsEnrolment(r, &s.User); err != nil {
				c.fail(w, r, err)
				return
			} else if must {
				if r.Method == http.MethodGet {
					http.Redirect(w, r, "/account/2fa", http.StatusSeeOther)
					return
				}
				c.fail(w, r, warden.Errorf(warden.EFORBIDDEN, "admins turn on two-factor sign-in first: /account/2fa"))
				return
			}
		}
		ctx := context.WithValue(r.Context(), sessionKey{}, &s)
		r = r.WithContext(ctx)
		if !safeMethod(r.Method) {
			if err := c.checkCSRF(w, r, &s); err != nil {
				c.fail(w, r, err)
				return
			}
		}
		if err := h(w, r, &s.User); err != nil {
			c.fail(w, r, err)
		}
	})
}

// UserPrincipal is the signed-in user u as the services see a caller (for
// their role checks and audit logs): Kind "user", the user's id, username
// and role.
func UserPrincipal(u *warden.User) *warden.Principal {
	return &warden.Principal{ID: u.ID, Name: u.Username, Role: u.Role, Kind: "user"}
}

// Nav adds a navigation link to href labelled label, shown to users with one
// of roles (any signed-in user when there are none).
func (c *Console) Nav(label, href string, roles ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nav = append(c.nav, navLink{label: label, href: href, roles: roles})
}

// Render writes page (a file in web/templates/, such as "cases.html") inside
// the layout, with data as the View's Data, and status 200.
func (c *Console) Render(w http.ResponseWriter, r *http.Request, page string, data any) error {
	return c.RenderStatus(w, r, http.StatusOK, page, data)
}

// RenderStatus is Render with another status, for example 422 for a form
// shown again with what to fix.
func (c *Console) RenderStatus(w http.ResponseWriter, r *http.Request, status int, page string, data any) error {
	return c.execute(w, r, status, page, "layout", data)
}

// Fragment writes one block of page alone, with status 200: the answer to an
// htmx request that swaps part of the page.
func (c *Console) Fragment(w http.ResponseWriter, r *http.Request, page, block string, data any) error {
	return c.execute(w, r, http.StatusOK, page, block, data)
}

func (c *Console) execute(w http.ResponseWriter, r *http.Request, status int, page, block string, data any) error {
	t, err := c.tmpl.page(page)
	if err != nil {
		return err
	}
	v := View{Data: data}
	if s := sessionFrom(r.Context()); s != nil {
		v.User, v.CSRF = &s.User, s.CSRF
		v.Nav = c.navFor(&s.User, r.URL.Path)
	}
	// Render to a buffer first, so that a template error becomes a clean
	// 500 rather than half a page.
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, block, v); err != nil {
		return fmt.Errorf("render %s/%s: %w", page, block, err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// Pages carry the CSRF token and private data: never from a cache.
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, err = w.Write(buf.Bytes())
	if err != nil {
		// The client went away; nothing is left to tell it.
		c.opt.Logger.Debug("console write failed", "path", r.URL.Path, "err", err)
	}
	return nil
}

func (c *Console) navFor(u *warden.User, path string) []NavItem {
	p := UserPrincipal(u)
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []NavItem
	for _, l := range c.nav {
		if len(l.roles) > 0 && !p.Can(l.roles...) {
			continue
		}
		cur := path == l.href || (l.href != "/" && strings.HasPrefix(path, strings.TrimSuffix(l.href, "/")+"/"))
		out = append(out, NavItem{Label: l.label, Href: l.href, Current: cur})
	}
	return out
}

// fail shows err to the person: an error page, or plain text for htmx.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := warden.ErrorCode(err)
	status := httpx.StatusOf(code)
	if code == warden.EINTERNAL {
		c.opt.Logger.Error("console request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	msg := warden.ErrorMessage(err)
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "10")
	}
	if isHTMX(r) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		fmt.Fprintln(w, msg)
		return
	}
	data := errorPage{Status: status, Title: http.StatusText(status), Message: msg}
	if rerr := c.RenderStatus(w, r, status, "error.html", data); rerr != nil {
		c.opt.Logger.Error("console error page failed", "err", rerr)
		http.Error(w, msg, status)
	}
}

type errorPage struct {
	Status         int
	Title, Message string
}

type sessionKey struct{}

func sessionFrom(ctx context.Context) *warden.Session {
	s, _ := ctx.Value(sessionKey{}).(*warden.Session)
	return s
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

func isHTMX(r *http.Request) bool { return r.Header.Get("HX-Request") == "true" }

// errCSRF is what a forged or stale request gets. A person sees it when a
// form was open for longer than a session lasts, hence the advice.
var errCSRF = warden.Errorf(warden.EFORBIDDEN, "this request did not come from a current console page: reload the page and try again")

// checkCSRF refuses a state-changing request that comes from another site
// or does not carry the session's token. Both checks, because each covers
// the other's gap: the origin check stops forms posted from other sites even
// in browsers that leak nothing else, and the token stops clients that send
// neither Origin nor Sec-Fetch-Site.
func (c *Console) checkCSRF(w http.ResponseWriter, r *http.Request, s *warden.Session) error {
	if err := c.cop.Check(r); err != nil {
		return errCSRF
	}
	tok := r.Header.Get("X-CSRF-Token")
	if tok == "" {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		tok = r.PostFormValue("csrf")
	}
	if !tokenEqual(tok, s.CSRF) {
		return errCSRF
	}
	return nil
}

// maxFormBytes bounds console form bodies; decision forms and notes are far
// smaller.
const maxFormBytes = 1 << 20

// formatUS formats unix microseconds, as the store keeps times, for templates.
func formatUS(us int64) string {
	if us == 0 {
		return ""
	}
	return time.UnixMicro(us).UTC().Format("2006-01-02 15:04:05 UTC")
}

func (c *Console) clientAddr(r *http.Request) string { return c.opt.ClientAddr(r) }
