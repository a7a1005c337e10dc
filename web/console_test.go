package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/httpapi"
	"github.com/wardenhq/warden/internal/httpx"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

const testPassword = "correct horse battery staple"

// testConsole is a console mounted on the real API server's mux (so route
// clashes with /v1 and /healthz show up here), served over httptest.
type testConsole struct {
	*Console
	srv *httptest.Server
	db  *sqlstore.DB
}

func newTestConsole(t *testing.T, opt Options) *testConsole {
	t.Helper()
	return newTestConsoleOn(t, sqlstoretest.SQLite(t), opt)
}

// newTestConsoleOn is newTestConsole on the store db.
func newTestConsoleOn(t testing.TB, db *sqlstore.DB, opt Options) *testConsole {
	t.Helper()
	api := httpapi.New(httpapi.Options{DB: db})
	opt.DB = db
	c, err := New(api.Mux(), opt)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	return &testConsole{Console: c, srv: srv, db: db}
}

func (tc *testConsole) user(t testing.TB, name, role string) {
	t.Helper()
	if _, err := tc.db.CreateUser(context.Background(), name, testPassword, role); err != nil {
		t.Fatal(err)
	}
}

// client is a browser-like client: it keeps cookies and does not follow
// redirects, so tests see where they point.
func (tc *testConsole) client(t testing.TB) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (tc *testConsole) do(t testing.TB, cl *http.Client, method, path string, form url.Values, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, tc.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// signIn signs cl in as name and returns the page's CSRF token.
func (tc *testConsole) signIn(t testing.TB, cl *http.Client, name string) string {
	t.Helper()
	return tc.signInAt(t, cl, name, "/")
}

// signInAt signs in as name and returns the CSRF token of page.
func (tc *testConsole) signInAt(t testing.TB, cl *http.Client, name, page string) string {
	t.Helper()
	resp, _ := tc.do(t, cl, "POST", "/signin", url.Values{"username": {name}, "password": {testPassword}, "next": {"/"}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in as %s: status %d, want 303", name, resp.StatusCode)
	}
	resp, body := tc.do(t, cl, "GET", page, nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s after sign-in: status %d", page, resp.StatusCode)
	}
	m := regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("%s has no csrf-token meta tag", page)
	}
	return m[1]
}

func sessionCookie(t *testing.T, cl *http.Client, base string) string {
	t.Helper()
	u, _ := url.Parse(base)
	for _, c := range cl.Jar.Cookies(u) {
		if c.Name == CookieName {
			return c.Value
		}
	}
	t.Fatal("no session cookie in the jar")
	return ""
}

func TestSignIn(t *testing.T) {
	tc := newTestConsole(t, Options{})
	tc.user(t, "alice", warden.RoleModerator)

	t.Run("right password starts a session and returns to next", func(t *testing.T) {
		cl := tc.client(t)
		resp, _ := tc.do(t, cl, "POST", "/signin", url.Values{"username": {"alice"}, "password": {testPassword}, "next": {"/rules"}}, nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/rules" {
			t.Fatalf("status %d to %q, want 303 to /rules", resp.StatusCode, resp.Header.Get("Location"))
		}
		var ck *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == CookieName {
				ck = c
			}
		}
		if ck == nil || ck.Value == "" {
			t.Fatal("no session cookie")
		}
		if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure {
			t.Errorf("cookie HttpOnly=%v SameSite=%v Secure=%v; want HttpOnly, Lax, not Secure over plain HTTP", ck.HttpOnly, ck.SameSite, ck.Secure)
		}
		resp, body := tc.do(t, cl, "GET", "/rules", nil, nil)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "alice") {
			t.Fatalf("rules page: status %d, signed-in user not shown", resp.StatusCode)
		}
		// Signing in again replaces the session rather than adding one.
		oldTok := sessionCookie(t, cl, tc.srv.URL)
		tc.do(t, cl, "POST", "/signin", url.Values{"username": {"alice"}, "password": {testPassword}}, nil)
		if _, err := tc.db.SessionByToken(context.Background(), oldTok); err == nil {
			t.Error("the previous session still works after signing in again")
		}
		if _, err := tc.db.SessionByToken(context.Background(), sessionCookie(t, cl, tc.srv.URL)); err != nil {
			t.Errorf("the new session does not work: %v", err)
		}
		// A signed-in visit to the sign-in page goes straight on.
		resp, _ = tc.do(t, cl, "GET", "/signin?next=/rules", nil, nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/rules" {
			t.Errorf("signed-in GET /signin: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})

	t.Run("behind a TLS proxy the cookie is Secure", func(t *testing.T) {
		resp, _ := tc.do(t, tc.client(t), "POST", "/signin", url.Values{"username": {"alice"}, "password": {testPassword}},
			map[string]string{"X-Forwarded-Proto": "https"})
		if len(resp.Cookies()) != 1 || !resp.Cookies()[0].Secure {
			t.Fatalf("cookies %v, want one Secure session cookie", resp.Cookies())
		}
	})

	for _, tt := range []struct{ name, user, password string }{
		{"wrong password", "alice", "correct horse battery stapler"},
		{"unknown user", "mallory", testPassword},
	} {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			cl := tc.client(t)
			resp, body := tc.do(t, cl, "POST", "/signin", url.Values{"username": {tt.user}, "password": {tt.password}}, nil)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", resp.StatusCode)
			}
			if !strings.Contains(body, "Wrong username or password.") {
				t.Error("the page does not say what went wrong")
			}
			if !strings.Contains(body, `value="`+tt.user+`"`) {
				t.Error("the username is not kept in the form")
			}
			if len(resp.Cookies()) != 0 {
				t.Errorf("a failed sign-in set cookies %v", resp.Cookies())
			}
			if resp, _ := tc.do(t, cl, "GET", "/", nil, nil); resp.StatusCode != http.StatusSeeOther {
				t.Errorf("after a failed sign-in GET / gave %d, want a redirect to sign in", resp.StatusCode)
			}
		})
	}

	t.Run("an empty form asks for both fields", func(t *testing.T) {
		resp, body := tc.do(t, tc.client(t), "POST", "/signin", url.Values{"username": {"alice"}}, nil)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Enter your username and password.") {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})

	t.Run("a form from another site is refused", func(t *testing.T) {
		resp, _ := tc.do(t, tc.client(t), "POST", "/signin", url.Values{"username": {"alice"}, "password": {testPassword}},
			map[string]string{"Sec-Fetch-Site": "cross-site"})
		if resp.StatusCode != http.StatusForbidden || len(resp.Cookies()) != 0 {
			t.Fatalf("status %d cookies %v, want 403 and no session", resp.StatusCode, resp.Cookies())
		}
	})
}

func TestSessionRequired(t *testing.T) {
	tc := newTestConsole(t, Options{})
	cl := tc.client(t)
	for _, path := range []string{"/", "/rules", "/rules?x=1"} {
		resp, _ := tc.do(t, cl, "GET", path, nil, nil)
		want := "/signin?next=" + url.QueryEscape(path)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
			t.Errorf("GET %s: %d to %q, want 303 to %q", path, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
	// An htmx poll from a page whose session expired reloads to sign-in
	// rather than swapping the sign-in page into a table.
	resp, _ := tc.do(t, cl, "GET", "/live/verdicts", nil, map[string]string{"HX-Request": "true"})
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("HX-Redirect") != "/signin" {
		t.Errorf("htmx poll without session: %d HX-Redirect %q", resp.StatusCode, resp.Header.Get("HX-Redirect"))
	}
	// A forged or stale cookie is no session.
	u, _ := url.Parse(tc.srv.URL)
	cl.Jar.SetCookies(u, []*http.Cookie{{Name: CookieName, Value: "not-a-session"}})
	if resp, _ := tc.do(t, cl, "GET", "/", nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("GET / with a made-up cookie: %d, want 303", resp.StatusCode)
	}
	if resp, _ := tc.do(t, cl, "POST", "/signout", url.Values{"csrf": {"x"}}, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST without a session: %d, want 401", resp.StatusCode)
	}
}

func TestCSRF(t *testing.T) {
	tc := newTestConsole(t, Options{})
	tc.user(t, "alice", warden.RoleAdmin)
	cl := tc.client(t)
	tok := tc.signIn(t, cl, "alice")

	for _, tt := range []struct {
		name string
		form url.Values
		hdr  map[string]string
	}{
		{"no token", url.Values{}, nil},
		{"wrong token", url.Values{"csrf": {tok + "x"}}, nil},
		{"wrong header token", nil, map[string]string{"X-CSRF-Token": "nope"}},
		{"right token from another site", url.Values{"csrf": {tok}}, map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"right token with a foreign Origin", url.Values{"csrf": {tok}}, map[string]string{"Origin": "https://evil.example"}},
	} {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			resp, body := tc.do(t, cl, "POST", "/signout", tt.form, tt.hdr)
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("status %d, want 403", resp.StatusCode)
			}
			if !strings.Contains(body, "reload the page") {
				t.Error("the refusal does not say what to do")
			}
			if resp, _ := tc.do(t, cl, "GET", "/", nil, nil); resp.StatusCode != http.StatusOK {
				t.Fatalf("the refused sign-out ended the session: GET / gave %d", resp.StatusCode)
			}
		})
	}

	t.Run("the header token, as htmx sends it, is accepted", func(t *testing.T) {
		resp, _ := tc.do(t, cl, "POST", "/signout", nil, map[string]string{"X-CSRF-Token": tok, "HX-Request": "true", "Sec-Fetch-Site": "same-origin"})
		if resp.StatusCode != http.StatusNoContent || resp.Header.Get("HX-Redirect") != "/signin" {
			t.Fatalf("status %d HX-Redirect %q", resp.StatusCode, resp.Header.Get("HX-Redirect"))
		}
		if resp, _ := tc.do(t, cl, "GET", "/", nil, nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("signed out, GET / gave %d", resp.StatusCode)
		}
	})

	t.Run("a trusted origin may post", func(t *testing.T) {
		proxied := newTestConsole(t, Options{TrustedOrigins: []string{"https://warden.example.com"}})
		proxied.user(t, "alice", warden.RoleAdmin)
		pcl := proxied.client(t)
		tok := proxied.signIn(t, pcl, "alice")
		resp, _ := proxied.do(t, pcl, "POST", "/signout", url.Values{"csrf": {tok}},
			map[string]string{"Origin": "https://warden.example.com", "Sec-Fetch-Site": "cross-site"})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("post from the trusted origin: %d, want 303", resp.StatusCode)
		}
		if _, err := New(http.NewServeMux(), Options{DB: proxied.db, TrustedOrigins: []string{"warden.example.com"}}); err == nil {
			t.Error("an origin without a scheme was accepted")
		}
	})

	t.Run("the form token is accepted", func(t *testing.T) {
		tok := tc.signIn(t, cl, "alice")
		resp, _ := tc.do(t, cl, "POST", "/signout", url.Values{"csrf": {tok}}, nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/signin" {
			t.Fatalf("status %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
}

func TestSignInRateLimit(t *testing.T) {
	tc := newTestConsole(t, Options{})
	tc.user(t, "alice", warden.RoleAdmin)
	tc.user(t, "bob", warden.RoleAdmin)
	// Small buckets that do not refill within the test, so the test does
	// not spend seconds on argon2 checks.
	tc.ipLimit = httpx.NewLimiter(1e-6, 4, 100)
	tc.userLimit = httpx.NewLimiter(1e-6, 2, 100)
	cl := tc.client(t)
	post := func(user, pw string) int {
		resp, _ := tc.do(t, cl, "POST", "/signin", url.Values{"username": {user}, "password": {pw}}, nil)
		return resp.StatusCode
	}

	// Per username: two guesses, then even the right password waits.
	if got := post("alice", "wrong password 1"); got != http.StatusUnauthorized {
		t.Fatalf("first guess: %d", got)
	}
	if got := post("ALICE", "wrong password 2"); got != http.StatusUnauthorized {
		t.Fatalf("second guess: %d", got)
	}
	resp, body := tc.do(t, cl, "POST", "/signin", url.Values{"username": {"alice"}, "password": {testPassword}}, nil)
	if resp.StatusCode != http.StatusTooManyRequests || len(resp.Cookies()) != 0 {
		t.Fatalf("third try: %d cookies %v, want 429 and no session", resp.StatusCode, resp.Cookies())
	}
	if !strings.Contains(body, "Too many sign-in attempts") || resp.Header.Get("Retry-After") == "" {
		t.Error("the 429 page does not say to wait")
	}

	// Per address: the fourth attempt from this address was the last
	// allowed, whatever the username.
	if got := post("bob", testPassword); got != http.StatusSeeOther {
		t.Fatalf("bob from the same address, within the address's budget: %d", got)
	}
	if got := post("carol", "anything at all"); got != http.StatusTooManyRequests {
		t.Fatalf("past the address's budget: %d, want 429", got)
	}
}

func TestPageRoles(t *testing.T) {
	tc := newTestConsole(t, Options{})
	tc.Page("GET /queue", []string{warden.RoleModerator}, func(w http.ResponseWriter, r *http.Request, u *warden.User) error {
		return tc.Render(w, r, "error.html", errorPage{Title: "Queue", Message: "queue of " + u.Username})
	})
	tc.Nav("Queue", "/queue", warden.RoleModerator)
	tc.Page("GET /broken", nil, func(w http.ResponseWriter, r *http.Request, u *warden.User) error {
		return errors.New("database on fire")
	})
	tc.Page("GET /missing", nil, func(w http.ResponseWriter, r *http.Request, u *warden.User) error {
		return warden.Errorf(warden.ENOTFOUND, "no case c_42")
	})
	for _, u := range []struct{ name, role string }{{"mo", warden.RoleModerator}, {"ad", warden.RoleAdmin}, {"ap", warden.RoleApp}} {
		tc.user(t, u.name, u.role)
	}

	for _, tt := range []struct {
		user    string
		status  int
		navLink bool
	}{
		{"mo", http.StatusOK, true},
		{"ad", http.StatusOK, true}, // admins may do anything
		{"ap", http.StatusForbidden, false},
	} {
		t.Run(tt.user, func(t *testing.T) {
			cl := tc.client(t)
			tc.signIn(t, cl, tt.user)
			resp, body := tc.do(t, cl, "GET", "/queue", nil, nil)
			if resp.StatusCode != tt.status {
				t.Fatalf("GET /queue: %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.status == http.StatusOK && !strings.Contains(body, "queue of "+tt.user) {
				t.Error("the handler did not get the signed-in user")
			}
			if tt.status == http.StatusOK && !strings.Contains(body, `<a href="/queue" aria-current="page">Queue</a>`) {
				t.Error("the nav does not mark the current page")
			}
			_, dash := tc.do(t, cl, "GET", "/", nil, nil)
			if got := strings.Contains(dash, `href="/queue"`); got != tt.navLink {
				t.Errorf("nav link to /queue shown: %v, want %v", got, tt.navLink)
			}
		})
	}

	cl := tc.client(t)
	tc.signIn(t, cl, "mo")
	resp, body := tc.do(t, cl, "GET", "/broken", nil, nil)
	if resp.StatusCode != http.StatusInternalServerError || strings.Contains(body, "on fire") {
		t.Errorf("internal error: %d, leaked detail: %v", resp.StatusCode, strings.Contains(body, "on fire"))
	}
	resp, body = tc.do(t, cl, "GET", "/missing", nil, nil)
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "no case c_42") {
		t.Errorf("not found: %d", resp.StatusCode)
	}
	resp, body = tc.do(t, cl, "GET", "/missing", nil, map[string]string{"HX-Request": "true"})
	if resp.StatusCode != http.StatusNotFound || strings.TrimSpace(body) != "no case c_42" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Errorf("htmx error: %d %q %q, want the message as plain text", resp.StatusCode, body, resp.Header.Get("Content-Type"))
	}
}

func TestStaticAssets(t *testing.T) {
	tc := newTestConsole(t, Options{})
	cl := tc.client(t)
	_, page := tc.do(t, cl, "GET", "/signin", nil, nil)
	m := regexp.MustCompile(`src="(/static/htmx\.min\.js\?v=[0-9a-f]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("the layout does not load htmx from /static/")
	}
	resp, body := tc.do(t, cl, "GET", m[1], nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "javascript") || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Fatalf("htmx: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"))
	}
	if !strings.Contains(body, "htmx") {
		t.Error("htmx.min.js is not htmx")
	}
	resp, _ = tc.do(t, cl, "GET", "/static/console.css?v=stale", nil, nil)
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("stale version: %d %q, want 200 no-cache", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	if resp, _ := tc.do(t, cl, "GET", "/static/nope.js", nil, nil); resp.StatusCode != 404 {
		t.Errorf("unknown static file: %d", resp.StatusCode)
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"":                      "/",
		"/":                     "/",
		"/cases/c1?tab=reports": "/cases/c1?tab=reports",
		"//evil.example":        "/",
		"/\\evil.example":       "/",
		"https://evil.example/": "/",
		"evil.example":          "/",
		"/ok\r\nSet-Cookie: x":  "/",
		"/signin":               "/",
		"/signout":              "/",
		"javascript:alert(1)":   "/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzSafeNext checks that no input makes the sign-in page redirect off the
// site: what safeNext returns is a path that a browser resolves on this host.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/", "/cases/1", "//x", "/\\x", "http://x", "/%2F%2Fx", "/\t/x", "/a?b=//c#d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := safeNext(s)
		if got != "/" && got != s {
			t.Fatalf("safeNext(%q) = %q: neither the input nor /", s, got)
		}
		base, _ := url.Parse("http://warden.example/cases/")
		ref, err := url.Parse(got)
		if err != nil {
			t.Fatalf("safeNext(%q) = %q does not parse: %v", s, got, err)
		}
		if u := base.ResolveReference(ref); u.Host != "warden.example" || u.Scheme != "http" {
			t.Fatalf("safeNext(%q) = %q leads to %s", s, got, u)
		}
		if strings.ContainsAny(got, "\\\r\n\t") || strings.HasPrefix(got, "//") {
			t.Fatalf("safeNext(%q) = %q may leave the site in some browser", s, got)
		}
	})
}
