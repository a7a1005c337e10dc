package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/httpapi"
	"github.com/wardenhq/warden/ingest"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

// countingEngine blocks events of type "bad" and counts evaluations, so
// tests can see that a repeated id is not evaluated again.
type countingEngine struct{ n atomic.Int64 }

func (e *countingEngine) Evaluate(_ context.Context, ev *warden.Event) warden.Verdict {
	e.n.Add(1)
	v := warden.Verdict{EventID: ev.ID, Hits: []warden.Hit{}}
	if ev.Type == "bad" {
		v.Action, v.Score = warden.ActionBlock, 1
		v.Hits = append(v.Hits, warden.Hit{Rule: "no_bad", Version: 1, Action: warden.ActionBlock, Mode: "enforce", Reason: "type is bad"})
	}
	return v
}

type fixture struct {
	srv    *httptest.Server
	db     *sqlstore.DB
	log    *sqlstore.EventLog
	engine *countingEngine
	keys   map[string]string
}

func newFixture(t *testing.T, db *sqlstore.DB) *fixture {
	t.Helper()
	f := &fixture{db: db, engine: &countingEngine{}, keys: map[string]string{}}
	f.log = sqlstore.NewEventLog(db)
	t.Cleanup(f.log.Close)
	in, err := ingest.New(context.Background(), ingest.Options{Log: f.log, Engine: f.engine})
	if err != nil {
		t.Fatal(err)
	}
	api := httpapi.New(httpapi.Options{DB: db, Ingest: in})
	f.srv = httptest.NewServer(api.Handler())
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

func (f *fixture) do(t *testing.T, method, path, key, body string) (int, []byte) {
	t.Helper()
	return call(t, method, f.srv.URL+path, key, body)
}

// call sends one request with an API key (none if key is empty) and
// returns the status and body.
func call(t *testing.T, method, url, key, body string) (int, []byte) {
	t.Helper()
	var b bytes.Buffer
	code, err := send(http.DefaultClient, method, url, key, body, &b)
	if err != nil {
		t.Fatal(err)
	}
	return code, b.Bytes()
}

// send makes one JSON request with the API key (if any) and copies the
// response body to out. It is safe to call from any goroutine.
func send(client *http.Client, method, url, key, body string, out io.Writer) (int, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(out, resp.Body)
	return resp.StatusCode, err
}

func (f *fixture) count(t *testing.T) int64 {
	n, err := f.log.Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func event(id, typ string) string {
	return fmt.Sprintf(`{"id":%q,"type":%q,"time":"2026-11-22T10:00:00Z","actor":"u1","target":"u2"}`, id, typ)
}

type verdicts struct {
	Verdicts []warden.Verdict `json:"verdicts"`
}

type apiError struct {
	Error struct{ Code, Message, Field string } `json:"error"`
}

func TestPostEvents(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		app := f.keys[warden.RoleApp]

		t.Run("a valid event gets a verdict", func(t *testing.T) {
			code, body := f.do(t, "POST", "/v1/events", app, event("e1", "bad"))
			if code != 200 {
				t.Fatalf("status %d: %s", code, body)
			}
			var v verdicts
			if err := json.Unmarshal(body, &v); err != nil {
				t.Fatal(err)
			}
			if len(v.Verdicts) != 1 || v.Verdicts[0].EventID != "e1" || v.Verdicts[0].Action != warden.ActionBlock || v.Verdicts[0].Hits[0].Reason == "" {
				t.Fatalf("verdict = %s", body)
			}
		})

		t.Run("malformed input gets a 400 that says what to fix and changes nothing", func(t *testing.T) {
			before := f.count(t)
			body := `{"events":[` + event("m1", "follow") + `,{"id":"m2","type":"follow","time":"2026-13-01T00:00:00Z","actor":"u1"}]}`
			code, resp := f.do(t, "POST", "/v1/events", app, body)
			var e apiError
			json.Unmarshal(resp, &e)
			if code != 400 || e.Error.Code != "invalid" || e.Error.Field != "events[1].time" || !strings.Contains(e.Error.Message, "RFC 3339") {
				t.Fatalf("status %d body %s", code, resp)
			}
			if after := f.count(t); after != before {
				t.Fatalf("log grew from %d to %d after a rejected request", before, after)
			}
		})

		t.Run("no key is 401, a wrong role is 403", func(t *testing.T) {
			if code, body := f.do(t, "POST", "/v1/events", "", event("x", "follow")); code != 401 {
				t.Fatalf("no key: %d %s", code, body)
			}
			if code, body := f.do(t, "POST", "/v1/events", "wdn_notakey", event("x", "follow")); code != 401 {
				t.Fatalf("bad key: %d %s", code, body)
			}
			if code, body := f.do(t, "POST", "/v1/events", f.keys[warden.RoleModerator], event("x", "follow")); code != 403 {
				t.Fatalf("moderator key: %d %s", code, body)
			}
			if code, body := f.do(t, "GET", "/v1/keys", app, ""); code != 403 {
				t.Fatalf("app key listing keys: %d %s", code, body)
			}
		})

		t.Run("a batch of 10,000 is accepted in one call, and resending it changes nothing", func(t *testing.T) {
			var sb strings.Builder
			sb.WriteString(`{"events":[`)
			for i := 0; i < warden.MaxBatchEvents; i++ {
				if i > 0 {
					sb.WriteByte(',')
				}
				typ := "follow"
				if i%100 == 0 {
					typ = "bad"
				}
				sb.WriteString(event(fmt.Sprintf("b%d", i), typ))
			}
			sb.WriteString(`]}`)
			before, evals := f.count(t), f.engine.n.Load()
			code, first := f.do(t, "POST", "/v1/events", app, sb.String())
			if code != 200 {
				t.Fatalf("status %d: %.300s", code, first)
			}
			var v verdicts
			json.Unmarshal(first, &v)
			if len(v.Verdicts) != warden.MaxBatchEvents || v.Verdicts[9999].EventID != "b9999" || v.Verdicts[100].Action != warden.ActionBlock {
				t.Fatalf("got %d verdicts", len(v.Verdicts))
			}
			if got := f.count(t) - before; got != warden.MaxBatchEvents {
				t.Fatalf("log grew by %d, want 10000", got)
			}
			code, second := f.do(t, "POST", "/v1/events", app, sb.String())
			if code != 200 || !bytes.Equal(first, second) {
				t.Fatalf("resend: status %d, same verdicts %v", code, bytes.Equal(first, second))
			}
			if got := f.count(t) - before; got != warden.MaxBatchEvents {
				t.Fatalf("after resend the log grew by %d, want 10000", got)
			}
			if got := f.engine.n.Load() - evals; got != warden.MaxBatchEvents {
				t.Fatalf("engine evaluated %d events, want each once (10000)", got)
			}
		})

		t.Run("a repeated id within one request gets the first verdict", func(t *testing.T) {
			evals := f.engine.n.Load()
			code, body := f.do(t, "POST", "/v1/events", app, `{"events":[`+event("r1", "bad")+`,`+event("r1", "bad")+`]}`)
			var v verdicts
			json.Unmarshal(body, &v)
			if code != 200 || len(v.Verdicts) != 2 || v.Verdicts[1].Action != warden.ActionBlock || f.engine.n.Load()-evals != 1 {
				t.Fatalf("status %d body %s, %d evaluations", code, body, f.engine.n.Load()-evals)
			}
		})

		t.Run("an oversize body is 413", func(t *testing.T) {
			big := `{"id":"big","type":"x","time":"2026-11-22T10:00:00Z","actor":"u","text":"` + strings.Repeat("a", warden.MaxBodyBytes) + `"}`
			code, body := f.do(t, "POST", "/v1/events", app, big)
			if code != 413 {
				t.Fatalf("status %d: %.200s", code, body)
			}
		})
	})
}

func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	db := sqlstoretest.SQLite(t)
	api := httpapi.New(httpapi.Options{DB: db})
	srv := httptest.NewServer(api.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q", doc.OpenAPI)
	}
	routes := api.Routes()
	if len(routes) < 4 {
		t.Fatalf("only %d routes registered", len(routes))
	}
	for _, rt := range routes {
		method, path, _ := strings.Cut(rt.Pattern, " ")
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("%s is not in /openapi.json", rt.Pattern)
		}
	}
}

func TestKeysAPI(t *testing.T) {
	db := sqlstoretest.SQLite(t)
	f := newFixture(t, db)
	code, body := f.do(t, "POST", "/v1/keys", f.keys[warden.RoleAdmin], `{"role":"moderator","name":"ops"}`)
	var k struct{ ID, Key, Role string }
	json.Unmarshal(body, &k)
	if code != 201 || k.Role != "moderator" || !strings.HasPrefix(k.Key, "wdn_") {
		t.Fatalf("create: %d %s", code, body)
	}
	if code, body := f.do(t, "GET", "/v1/keys", k.Key, ""); code != 403 {
		t.Fatalf("new moderator key listing keys: %d %s", code, body)
	}
	if code, body := f.do(t, "POST", "/v1/keys", f.keys[warden.RoleAdmin], `{"role":"root"}`); code != 400 {
		t.Fatalf("bad role: %d %s", code, body)
	}
	code, body = f.do(t, "GET", "/v1/keys", f.keys[warden.RoleAdmin], "")
	if code != 200 {
		t.Fatalf("list: %d %s", code, body)
	}
	for _, secret := range append([]string{k.Key}, f.keys[warden.RoleApp], f.keys[warden.RoleAdmin]) {
		if strings.Contains(string(body), secret) {
			t.Fatalf("the key listing shows a secret: %s", body)
		}
	}
	if code, body := f.do(t, "DELETE", "/v1/keys/"+k.ID, f.keys[warden.RoleAdmin], ""); code != 200 {
		t.Fatalf("revoke: %d %s", code, body)
	}
}

func TestPublicEndpointsAreRateLimited(t *testing.T) {
	db := sqlstoretest.SQLite(t)
	for _, tc := range []struct{ name, method, path, key string }{
		{"openapi", "GET", "/openapi.json", ""},
		{"requests without a key", "POST", "/v1/events", ""},
		{"requests with a wrong key", "POST", "/v1/events", "wdn_guess"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A server per case: each starts with a full bucket.
			srv := httptest.NewServer(httpapi.New(httpapi.Options{DB: db, PublicRate: 1}).Handler())
			defer srv.Close()
			limited := false
			for i := 0; i < 20 && !limited; i++ {
				req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader("{}"))
				if tc.key != "" {
					req.Header.Set("Authorization", "Bearer "+tc.key)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				limited = resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") != ""
			}
			if !limited {
				t.Fatal("20 quick requests at a limit of 1/s (burst 4) were never answered 429 with Retry-After")
			}
		})
	}
}

// A revoked key is refused on its very next call, not after a cache
// expires; the last live admin key cannot lock every admin out.
func TestRevokedKeyIsRefusedAtOnce(t *testing.T) {
	f := newFixture(t, sqlstoretest.SQLite(t))
	admin := f.keys[warden.RoleAdmin]
	code, body := f.do(t, "POST", "/v1/keys", admin, `{"role":"app","name":"leaked"}`)
	var k struct{ ID, Key string }
	if json.Unmarshal(body, &k); code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	if code, body := f.do(t, "POST", "/v1/events", k.Key, event("rk1", "like")); code != 200 {
		t.Fatalf("the new key posts: %d %s", code, body) // and is now cached
	}
	if code, body := f.do(t, "DELETE", "/v1/keys/"+k.ID, admin, ""); code != 200 {
		t.Fatalf("revoke: %d %s", code, body)
	}
	if code, body := f.do(t, "POST", "/v1/events", k.Key, event("rk2", "like")); code != 401 {
		t.Fatalf("the revoked key still posts: %d %s", code, body)
	}
	// The fixture's admin key is the only live one: it cannot revoke itself.
	code, body = f.do(t, "GET", "/v1/keys", admin, "")
	var list struct{ Keys []struct{ ID, Role string } }
	if err := json.Unmarshal(body, &list); code != 200 || err != nil {
		t.Fatalf("list keys: %d %s", code, body)
	}
	var adminID string
	for _, k := range list.Keys {
		if k.Role == warden.RoleAdmin {
			adminID = k.ID
		}
	}
	if code, body := f.do(t, "DELETE", "/v1/keys/"+adminID, admin, ""); code != 409 {
		t.Fatalf("the last admin key revoking itself: %d %s", code, body)
	}
	if code, body := f.do(t, "GET", "/v1/keys", admin, ""); code != 200 {
		t.Fatalf("the last admin key after the refused revoke: %d %s", code, body)
	}
	// With a second admin key, the first may go.
	code, body = f.do(t, "POST", "/v1/keys", admin, `{"role":"admin","name":"second"}`)
	var second struct{ Key string }
	if json.Unmarshal(body, &second); code != 201 {
		t.Fatalf("create admin: %d %s", code, body)
	}
	if code, body := f.do(t, "DELETE", "/v1/keys/"+adminID, second.Key, ""); code != 200 {
		t.Fatalf("revoking an admin key that is not the last: %d %s", code, body)
	}
}

// Under /v1 every answer is the contract's JSON error body, 404 and 405
// included.
func TestUnroutedCallsAnswerInJSON(t *testing.T) {
	f := newFixture(t, sqlstoretest.SQLite(t))
	for _, tc := range []struct {
		method, path string
		code         int
		allow        string
	}{
		{"GET", "/v1/nothing-here", 404, ""},
		{"POST", "/v1/keys/k1/extra", 404, ""},
		{"GET", "/v1/events", 405, "POST"},
		{"PUT", "/v1/keys", 405, "GET, POST"},
	} {
		req, _ := http.NewRequest(tc.method, f.srv.URL+tc.path, nil)
		req.Header.Set("Authorization", "Bearer "+f.keys[warden.RoleAdmin])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e apiError
		err = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != tc.code || err != nil || e.Error.Code == "" || e.Error.Message == "" ||
			resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("Allow") != tc.allow {
			t.Errorf("%s %s: %d %q allow %q, body %+v (%v)", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Allow"), e, err)
		}
	}
}

// A re-sent id with a different event is a 409 naming the id, and a batch
// carrying one changes nothing; the same event re-sent (in any time
// offset) is a retry answered with its first verdict.
func TestResentIDWithAnotherEventConflicts(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		app := f.keys[warden.RoleApp]
		if code, body := f.do(t, "POST", "/v1/events", app, event("c1", "bad")); code != 200 {
			t.Fatalf("first: %d %s", code, body)
		}
		retry := `{"id":"c1","type":"bad","time":"2026-11-22T11:00:00+01:00","actor":"u1","target":"u2"}`
		if code, body := f.do(t, "POST", "/v1/events", app, retry); code != 200 || !strings.Contains(string(body), `"block"`) {
			t.Fatalf("retry: %d %s", code, body)
		}
		evals := f.engine.n.Load()
		for name, body := range map[string]string{
			"other actor": `{"id":"c1","type":"bad","time":"2026-11-22T10:00:00Z","actor":"u9","target":"u2"}`,
			"in a batch":  `{"events":[` + event("c2", "like") + `,` + event("c1", "like") + `]}`,
			"twice in one batch": `{"events":[` + event("c3", "like") + `,` +
				`{"id":"c3","type":"like","time":"2026-11-22T10:00:00Z","actor":"u1","target":"u2","text":"x"}]}`,
		} {
			code, resp := f.do(t, "POST", "/v1/events", app, body)
			var e apiError
			json.Unmarshal(resp, &e)
			if code != http.StatusConflict || e.Error.Code != warden.ECONFLICT || !strings.HasSuffix(e.Error.Field, "].id") || !strings.Contains(e.Error.Message, `"c`) {
				t.Fatalf("%s: %d %s", name, code, resp)
			}
		}
		if n := f.count(t); n != 1 || f.engine.n.Load() != evals {
			t.Fatalf("after refused requests: %d events logged, %d evaluations (was %d)", n, f.engine.n.Load(), evals)
		}
	})
}
