package web

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/wardenhq/warden"
)

// CookieName is the console's session cookie. It holds a random token; the
// store keeps only its hash.
const CookieName = "warden_session"

func (c *Console) mountAuth() {
	c.public("GET /signin", http.HandlerFunc(c.signInPage))
	c.public("POST /signin", http.HandlerFunc(c.signIn))
	c.Page("POST /signout", nil, c.signOut)
}

// session returns the live session named by the request's cookie.
func (c *Console) session(r *http.Request) (warden.Session, error) {
	ck, err := r.Cookie(CookieName)
	if err != nil || ck.Value == "" {
		return warden.Session{}, warden.Errorf(warden.EUNAUTHORIZED, "sign in to continue")
	}
	return c.opt.DB.SessionByToken(r.Context(), ck.Value)
}

// needSignIn answers a request that has no live session: a page load goes
// to the sign-in page and comes back after; an htmx request (a poll, a form)
// makes htmx load the sign-in page instead of swapping it into a fragment.
func (c *Console) needSignIn(w http.ResponseWriter, r *http.Request, err error) {
	if warden.ErrorCode(err) != warden.EUNAUTHORIZED {
		c.fail(w, r, err)
		return
	}
	if isHTMX(r) {
		w.Header().Set("HX-Redirect", "/signin")
		c.fail(w, r, err)
		return
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	c.fail(w, r, err)
}

type signInForm struct {
	Username, Next, Error string
	// NeedCode: the password was right and the account's second factor is
	// on; the form asks for the code with the password again.
	NeedCode bool
}

func (c *Console) signInPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if _, err := c.session(r); err == nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	c.renderSignIn(w, r, http.StatusOK, signInForm{Next: next})
}

func (c *Console) renderSignIn(w http.ResponseWriter, r *http.Request, status int, f signInForm) {
	if err := c.RenderStatus(w, r, status, "signin.html", f); err != nil {
		c.fail(w, r, err)
	}
}

// signIn checks a username and password and starts a session.
//
// There is no session yet, so no CSRF token: the origin check alone stops
// another site from signing a visitor in to an account of its choosing.
// Attempts are limited per client address (one source guessing many
// passwords) and per username (many sources guessing one account's). The
// per-username limit lets an attacker keep one account's owner out while the
// attack lasts; that is the price of making the password hard to guess, and
// an admin can still sign in from the command line's `warden users`.
func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	if err := c.cop.Check(r); err != nil {
		c.fail(w, r, errCSRF)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		c.fail(w, r, warden.Errorf(warden.EINVALID, "could not read the sign-in form"))
		return
	}
	f := signInForm{Username: strings.TrimSpace(r.PostForm.Get("username")), Next: safeNext(r.PostForm.Get("next"))}
	password := r.PostForm.Get("password")
	if f.Username == "" || password == "" {
		f.Error = "Enter your username and password."
		c.renderSignIn(w, r, http.StatusUnprocessableEntity, f)
		return
	}
	if !c.ipLimit.Allow(c.clientAddr(r)) || !c.userLimit.Allow(strings.ToLower(f.Username)) {
		w.Header().Set("Retry-After", "20")
		f.Error = "Too many sign-in attempts. Wait a minute, then try again."
		c.renderSignIn(w, r, http.StatusTooManyRequests, f)
		return
	}
	select {
	case c.checks <- struct{}{}:
	case <-r.Context().Done():
		return
	}
	u, err := c.opt.DB.CheckLogin(r.Context(), f.Username, password)
	<-c.checks
	if warden.ErrorCode(err) == warden.EUNAUTHORIZED {
		c.opt.Logger.Info("console sign-in failed", "username", f.Username, "addr", c.clientAddr(r))
		f.Error = "Wrong username or password."
		c.renderSignIn(w, r, http.StatusUnauthorized, f)
		return
	} else if err != nil {
		c.fail(w, r, err)
		return
	}
	msg, err := c.secondFactor(r, &u, r.PostForm.Get("code"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if msg != "" {
		c.opt.Logger.Info("console sign-in needs its second factor", "username", f.Username, "addr", c.clientAddr(r))
		f.Error, f.NeedCode = msg, true
		c.renderSignIn(w, r, http.StatusUnauthorized, f)
		return
	}
	tok, s, err := c.opt.DB.CreateSession(r.Context(), u)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	// A session this browser had before is replaced, not left to expire.
	if old, err := r.Cookie(CookieName); err == nil && old.Value != "" {
		if err := c.opt.DB.DeleteSession(r.Context(), old.Value); err != nil {
			c.opt.Logger.Warn("could not end the previous console session", "err", err)
		}
	}
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: tok, Path: "/",
		Expires:  time.UnixMicro(s.ExpiresUS),
		HttpOnly: true, Secure: isTLS(r),
		// Lax, not Strict: a link to a case in a chat or an e-mail should
		// open signed in. Cross-site posts are refused by checkCSRF anyway.
		SameSite: http.SameSiteLaxMode,
	})
	c.opt.Logger.Info("console sign-in", "user", u.Username, "role", u.Role, "addr", c.clientAddr(r))
	http.Redirect(w, r, f.Next, http.StatusSeeOther)
}

func (c *Console) signOut(w http.ResponseWriter, r *http.Request, u *warden.User) error {
	if ck, err := r.Cookie(CookieName); err == nil {
		if err := c.opt.DB.DeleteSession(r.Context(), ck.Value); err != nil {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: isTLS(r), SameSite: http.SameSiteLaxMode})
	if isHTMX(r) {
		w.Header().Set("HX-Redirect", "/signin")
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
	return nil
}

// isTLS reports whether the browser reached us over HTTPS, directly or
// through a proxy that says so. Believing the header is safe here: it only
// decides whether the cookie is marked Secure, and a client that lies gets a
// cookie it cannot send back.
func isTLS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// safeNext returns next when it is a path on this site, and "/" otherwise,
// so that the sign-in page cannot be made to send someone elsewhere
// ("//evil.example", "/\evil.example" and "https://…" all leave the site in
// some browser).
func safeNext(next string) string {
	if len(next) == 0 || len(next) > 2048 || next[0] != '/' {
		return "/"
	}
	if len(next) > 1 && (next[1] == '/' || next[1] == '\\') {
		return "/"
	}
	for i := 0; i < len(next); i++ {
		if b := next[i]; b < 0x20 || b == 0x7f || b == '\\' {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") {
		return "/"
	}
	if u.Path == "/signin" || u.Path == "/signout" {
		return "/"
	}
	return next
}

// tokenEqual compares a presented CSRF token with the session's in constant
// time; an empty token never matches.
func tokenEqual(got, want string) bool {
	return got != "" && want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
