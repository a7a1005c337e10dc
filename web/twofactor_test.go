package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/internal/sealed"
	"github.com/wardenhq/warden/mfa"
)

// TestConsoleTwoFactor: an admin without a second factor reaches only the
// enrolment page; after turning it on (QR and key shown, a code from the
// app confirms), signing in needs a current code, and a replayed code or a
// wrong one is refused; a moderator may go without.
func TestConsoleTwoFactor(t *testing.T) {
	tc := newTestConsole(t, Options{})
	dir := t.TempDir()
	box, err := sealed.OpenBox(dir, "box.key")
	if err != nil {
		t.Fatal(err)
	}
	mac, err := sealed.OpenMac(dir, "mac.key")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	svc := mfa.New(mfa.Options{DB: tc.db, Box: box, Mac: mac, Now: func() time.Time { return now }})
	tc.MountTwoFactor(svc, true)
	tc.user(t, "ada", warden.RoleAdmin)
	tc.user(t, "mia", warden.RoleModerator)

	mod := tc.client(t)
	tc.signIn(t, mod, "mia")
	if resp, _ := tc.do(t, mod, "GET", "/", nil, nil); resp.StatusCode != 200 {
		t.Fatalf("a moderator without 2FA: %d", resp.StatusCode)
	}

	cl := tc.client(t)
	tok := tc.signInAt(t, cl, "ada", "/account/2fa")
	resp, _ := tc.do(t, cl, "GET", "/", nil, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account/2fa" {
		t.Fatalf("an admin without 2FA went to %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := tc.do(t, cl, "POST", "/signout", url.Values{"csrf": {tok}}, nil); resp.StatusCode == http.StatusForbidden {
		t.Fatal("an admin without 2FA cannot sign out")
	}
	tok = tc.signInAt(t, cl, "ada", "/account/2fa")
	_, body := tc.do(t, cl, "GET", "/account/2fa", nil, nil)
	if !strings.Contains(body, `id="twofa-required"`) || !strings.Contains(body, `id="twofa-off"`) {
		t.Fatalf("enrolment page:\n%s", body)
	}
	tc.do(t, cl, "POST", "/account/2fa", url.Values{"csrf": {tok}}, nil)
	_, body = tc.do(t, cl, "GET", "/account/2fa", nil, nil)
	m := regexp.MustCompile(`<code id="totp-secret">([A-Z2-7]+)</code>`).FindStringSubmatch(body)
	if m == nil || !strings.Contains(body, `id="totp-qr"`) {
		t.Fatalf("no QR code or key:\n%s", body)
	}
	secret := m[1]
	resp, body = tc.do(t, cl, "POST", "/account/2fa/confirm", url.Values{"csrf": {tok}, "code": {"000000"}}, nil)
	if resp.StatusCode != http.StatusUnprocessableEntity || strings.Contains(body, `id="recovery-codes"`) {
		t.Fatalf("a wrong code turned it on: %d", resp.StatusCode)
	}
	code, _ := mfa.Code(secret, now)
	resp, body = tc.do(t, cl, "POST", "/account/2fa/confirm", url.Values{"csrf": {tok}, "code": {code}}, nil)
	if resp.StatusCode != 200 || strings.Count(body, "<li>") < 10 || !strings.Contains(body, `id="twofa-on"`) {
		t.Fatalf("confirm = %d:\n%s", resp.StatusCode, body)
	}
	if resp, _ := tc.do(t, cl, "GET", "/", nil, nil); resp.StatusCode != 200 {
		t.Fatalf("after enrolment the dashboard = %d", resp.StatusCode)
	}

	// Signing in now needs a code; the one used to confirm is spent.
	fresh := tc.client(t)
	form := func(code string) url.Values {
		return url.Values{"username": {"ada"}, "password": {testPassword}, "code": {code}}
	}
	for _, c := range []string{"", code, "123456"} {
		resp, body := tc.do(t, fresh, "POST", "/signin", form(c), map[string]string{"Origin": tc.srv.URL})
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `aria-invalid="true"`) {
			t.Fatalf("sign-in with code %q = %d", c, resp.StatusCode)
		}
	}
	now = now.Add(30 * time.Second)
	next, _ := mfa.Code(secret, now)
	resp, _ = tc.do(t, fresh, "POST", "/signin", form(next), map[string]string{"Origin": tc.srv.URL})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in with a fresh code = %d", resp.StatusCode)
	}
	if resp, _ := tc.do(t, fresh, "GET", "/", nil, nil); resp.StatusCode != 200 {
		t.Fatalf("after a two-factor sign-in = %d", resp.StatusCode)
	}
}
