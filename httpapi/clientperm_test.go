package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/clientperm"
	"github.com/wardenhq/warden/httpapi"
	"github.com/wardenhq/warden/internal/sealed"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

type permFixture struct {
	srv  *httptest.Server
	db   *sqlstore.DB
	keys map[string]string
}

func newPermFixture(t *testing.T, db *sqlstore.DB) *permFixture {
	t.Helper()
	api := httpapi.New(httpapi.Options{DB: db})
	mac, err := sealed.NewMac([]byte("the httpapi tests' pseudonym key, 32+ bytes"))
	if err != nil {
		t.Fatal(err)
	}
	httpapi.RegisterClientPermissions(api, clientperm.New(clientperm.Options{Store: db, Mac: mac}))
	f := &permFixture{srv: httptest.NewServer(api.Handler()), db: db, keys: map[string]string{}}
	t.Cleanup(f.srv.Close)
	for _, role := range warden.Roles {
		secret, _, err := db.CreateKey(context.Background(), role, "")
		if err != nil {
			t.Fatal(err)
		}
		f.keys[role] = secret
	}
	return f
}

func (f *permFixture) records(t *testing.T) int {
	var n int
	if err := f.db.GetContext(context.Background(), &n, `SELECT COUNT(*) FROM client_permission_records`); err != nil {
		t.Fatal(err)
	}
	return n
}

func permRecord(user, feature, trigger string, at time.Time) string {
	return fmt.Sprintf(`{"user":%q,"app_version":"5.2.0","permission":"clipboard.read","feature":%q,"trigger":%q,"foreground":true,"count":1,"time":%q}`,
		user, feature, trigger, at.UTC().Format(time.RFC3339))
}

// TestClientPermissionCalls drives CONTRACT §8's permission calls as a
// script would: the admin's manifest, the app's records, the admin's report
// and the user's view; roles enforced, bad input refused whole.
func TestClientPermissionCalls(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := newPermFixture(t, db)
		admin, app, mod := f.keys[warden.RoleAdmin], f.keys[warden.RoleApp], f.keys[warden.RoleModerator]
		manifest := `{"app_version":"5.2.0","features":[{"feature":"paste_link","permissions":[{"permission":"clipboard.read","trigger":"user_gesture"}]},{"feature":"nearby","permissions":[{"permission":"location","trigger":"any"}]}]}`
		// Roles: the manifest and the report are the admins', records and
		// the user view the app's.
		for _, c := range []struct {
			method, path, key, body string
			want                    int
		}{
			{"PUT", "/v1/client/manifest", app, manifest, 403},
			{"PUT", "/v1/client/manifest", mod, manifest, 403},
			{"PUT", "/v1/client/manifest", "", manifest, 401},
			{"GET", "/v1/client/report?app_version=5.2.0", app, "", 403},
			{"POST", "/v1/client/permissions", mod, `{"records":[]}`, 403},
			{"POST", "/v1/client/permissions", f.keys[warden.RoleTrustedFlagger], `{"records":[]}`, 403},
			{"GET", "/v1/users/u1/permissions", mod, "", 403},
			{"PUT", "/v1/client/manifest", admin, manifest, 200},
		} {
			if code, body := call(t, c.method, f.srv.URL+c.path, c.key, c.body); code != c.want {
				t.Errorf("%s %s: %d %s, want %d", c.method, c.path, code, body, c.want)
			}
		}
		now := time.Now()
		batch := `{"records":[` + permRecord("u1", "paste_link", "user_gesture", now.Add(-time.Hour)) + `,` + permRecord("u1", "search_suggest", "programmatic", now.Add(-time.Minute)) + `]}`
		code, body := call(t, "POST", f.srv.URL+"/v1/client/permissions", app, batch)
		if code != 200 || !strings.Contains(string(body), `"accepted":2`) || !strings.Contains(string(body), `"undeclared":1`) {
			t.Fatalf("records: %d %s", code, body)
		}
		code, body = call(t, "GET", f.srv.URL+"/v1/client/report?app_version=5.2.0&days=90", admin, "")
		var rep struct {
			Flags []struct {
				Kind, Permission, Feature string
				Count                     int
			}
			Inactive []struct {
				Feature, Permission string
				LastUsed            *string `json:"last_used"`
			}
		}
		if err := json.Unmarshal(body, &rep); code != 200 || err != nil {
			t.Fatalf("report: %d %s %v", code, body, err)
		}
		if len(rep.Flags) != 1 || rep.Flags[0].Kind != "undeclared" || rep.Flags[0].Feature != "search_suggest" || rep.Flags[0].Count != 1 {
			t.Errorf("flags %+v", rep.Flags)
		}
		if len(rep.Inactive) != 1 || rep.Inactive[0].Feature != "nearby" || rep.Inactive[0].LastUsed != nil {
			t.Errorf("inactive %+v", rep.Inactive)
		}
		code, body = call(t, "GET", f.srv.URL+"/v1/users/u1/permissions?days=7", app, "")
		if code != 200 || !strings.Contains(string(body), `"search_suggest"`) || !strings.Contains(string(body), "your clipboard") {
			t.Errorf("user view: %d %s", code, body)
		}
		// Bad input: refused naming the field, nothing stored.
		before := f.records(t)
		for _, c := range []struct {
			method, path, body, field string
			want                      int
		}{
			{"POST", "/v1/client/permissions", `{"records":[` + permRecord("u1", "paste_link", "user_gesture", now) + `,` + permRecord("u1", "x", "maybe", now) + `]}`, "records[1].trigger", 400},
			{"POST", "/v1/client/permissions", `{"records":[` + strings.Replace(permRecord("u1", "x", "user_gesture", now), "clipboard.read", "sms", 1) + `]}`, "records[0].permission", 400},
			{"POST", "/v1/client/permissions", `{"records":[` + strings.TrimSuffix(strings.Repeat(permRecord("u1", "x", "user_gesture", now)+",", clientperm.MaxRecords+1), ",") + `]}`, "records", 413},
			{"PUT", "/v1/client/manifest", `{"app_version":"5.3","features":[{"feature":"f","permissions":[{"permission":"camera","trigger":"sometimes"}]}]}`, "features[0].permissions[0].trigger", 400},
			{"PUT", "/v1/client/manifest", `{"app_version":"5.3","features":[],"owner":"me"}`, "owner", 400},
			{"GET", "/v1/client/report", "", "app_version", 400},
			{"GET", "/v1/client/report?app_version=5.2.0&days=ninety", "", "days", 400},
			{"GET", "/v1/client/report?app_version=5.2.0&days=0", "", "days", 400},
		} {
			key := admin
			if c.path == "/v1/client/permissions" {
				key = app
			}
			code, body := call(t, c.method, f.srv.URL+c.path, key, c.body)
			var e struct {
				Error struct{ Code, Message, Field string }
			}
			json.Unmarshal(body, &e)
			if code != c.want || e.Error.Field != c.field {
				t.Errorf("%s %s: %d %s, want %d naming %s", c.method, c.path, code, body, c.want, c.field)
			}
		}
		if n := f.records(t); n != before {
			t.Errorf("%d records after refused batches, want %d", n, before)
		}
		if code, body := call(t, "GET", f.srv.URL+"/v1/client/report?app_version=5.3", admin, ""); code != 200 || !strings.Contains(string(body), `"manifest":false`) {
			t.Errorf("the refused manifest was stored: %d %s", code, body)
		}
		if code, _ := call(t, "GET", f.srv.URL+"/v1/users/warden-console:alice/permissions", app, ""); code != 400 {
			t.Errorf("console user's view: %d, want 400", code)
		}
	})
}
