package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/clientperm"
	"github.com/wardenhq/warden/internal/demo"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
	"github.com/wardenhq/warden/web"
)

// TestDemoClientPermissions: after the demo's setup (twice, as restarts
// do), the report of the demo app version flags search_suggest's clipboard
// reads (undeclared, and the rate) and lists share_location as inactive,
// over the API and on the console's App permissions page; the demo user's
// safety and privacy center says what their app read.
func TestDemoClientPermissions(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		c := newPrivacyClient(t, db)
		ctx := context.Background()
		svc := clientperm.New(clientperm.Options{Store: db, Mac: c.m.priv.permMac})
		for range 2 {
			if err := demo.ClientPermissions(ctx, svc, demoUser, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		var rep clientperm.Report
		c.call("GET", "/v1/client/report?app_version="+url.QueryEscape(demo.ClientAppVersion), c.admin, "", 200, &rep)
		kinds := map[string]int64{}
		for _, f := range rep.Flags {
			if f.Feature == demo.ClientUndeclaredFeature && f.Permission == clientperm.Clipboard {
				kinds[f.Kind] = f.Count
			}
		}
		if kinds[clientperm.FlagUndeclared] != 40 || kinds[clientperm.FlagRate] != 40 || len(rep.Flags) != 2 {
			t.Errorf("flags %+v, want search_suggest's 40 clipboard reads undeclared and too fast (once: the demo ran twice)", rep.Flags)
		}
		if len(rep.Inactive) != 1 || rep.Inactive[0].Feature != "share_location" || rep.Inactive[0].LastUsed != nil {
			t.Errorf("inactive %+v", rep.Inactive)
		}
		var view clientperm.UserView
		c.call("GET", "/v1/users/"+demoUser+"/permissions", c.app, "", 200, &view)
		if view.Total != 44 {
			t.Errorf("demo user's view: %+v", view)
		}

		// The center page.
		var link struct{ URL string }
		c.call("POST", "/v1/users/"+demoUser+"/center", c.app, "", 201, &link)
		u, err := url.Parse(link.URL)
		if err != nil {
			t.Fatal(err)
		}
		page := string(c.call("GET", u.Path, "", "", 200, nil))
		for _, want := range []string{"What your app read", "your clipboard (what you copied) 43 times", `The app&#39;s &#34;search_suggest&#34; feature read your clipboard (what you copied) 40 times, each time on its own`} {
			if !strings.Contains(page, want) {
				t.Errorf("center page lacks %q", want)
			}
		}

		// The console page, for an admin; a moderator may not see it.
		admin, err := db.CreateUser(ctx, "perm_admin", "correct horse battery staple", warden.RoleAdmin)
		if err != nil {
			t.Fatal(err)
		}
		enrolConsoleUser(t, c.m.priv.mfa, &admin)
		mod, err := db.CreateUser(ctx, "perm_mod", "correct horse battery staple", warden.RoleModerator)
		if err != nil {
			t.Fatal(err)
		}
		get := func(u warden.User) (int, string) {
			tok, _, err := db.CreateSession(ctx, u)
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest("GET", c.m.srv.URL+"/client-permissions", nil)
			req.Header.Set("Cookie", web.CookieName+"="+tok)
			req.Header.Set("X-Forwarded-For", "198.51.100.7")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			return resp.StatusCode, string(b)
		}
		code, html := get(admin)
		for _, want := range []string{`href="/client-permissions"`, "App permissions", `class="flag-undeclared"`, `class="flag-rate"`, "share_location", "never", demo.ClientUndeclaredFeature} {
			if code != 200 || !strings.Contains(html, want) {
				t.Errorf("console page (%d) lacks %q", code, want)
			}
		}
		if code, _ := get(mod); code != http.StatusForbidden {
			t.Errorf("moderator: %d, want 403", code)
		}
	})
}
