package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/partner"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

// do sends body (JSON, may be "") to the served stack and returns the
// status and the response body.
func (m *matrixServer) do(t *testing.T, method, path, key, body string) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, m.srv.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (m *matrixServer) must(t *testing.T, method, path, key, body string, want int, out any) []byte {
	t.Helper()
	code, b := m.do(t, method, path, key, body)
	if code != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, code, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return b
}

func (m *matrixServer) key(t *testing.T, role string) string {
	t.Helper()
	secret, _, err := m.db.CreateKey(context.Background(), role, "test-"+role)
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

var groupKey = bytes.Repeat([]byte("G"), partner.MinKeySize)

func signingKey(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

// TestTwoInstancesShareAFeed is CONTRACT §10's partner sharing end to
// end, over HTTP between two Warden servers on loopback with their own
// stores: three accounts of one scam ring banned on A share a mailbox; A's
// feed carries its keyed hash (and nothing in the clear), but not the
// email of a fourth banned account carried by fewer than k accounts; B
// refuses the feed altered or unsigned, from an unknown partner, or with a
// value in the clear, importing nothing; B imports the genuine feed, and a
// new account signing up on B with the ring's mailbox (spelt another way)
// is blocked by the partner rule, its hit naming A.
func TestTwoInstancesShareAFeed(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		a := newServed(t, db, partner.Config{GroupKey: groupKey, SigningKey: signingKey('a'), Issuer: "a.example", K: 3})
		b := newServed(t, sqlstoretest.SQLite(t), partner.Config{GroupKey: groupKey, SigningKey: signingKey('b'), Issuer: "b.example", K: 3})
		app, mod, feedKey := a.key(t, warden.RoleApp), a.key(t, warden.RoleModerator), a.key(t, warden.RolePartner)
		appB, adminB := b.key(t, warden.RoleApp), b.key(t, warden.RoleAdmin)

		// On A: the ring's accounts sign up with one Gmail mailbox spelt
		// three ways, each with its own phone; a lone scammer with its own.
		var evs []string
		for i := 1; i <= 3; i++ {
			evs = append(evs, fmt.Sprintf(`{"id":"s%d","type":"signup","time":"2026-12-01T10:0%d:00Z","actor":"ring%d","device":"dev-ring-%d",
"attrs":{"email":"Scam.Ring+%d@gmail.com","phone":"+1 555 0100 00%d"}}`, i, i, i, i, i, i))
		}
		evs = append(evs, `{"id":"s4","type":"signup","time":"2026-12-01T10:05:00Z","actor":"lone","attrs":{"email":"lone.wolf@example.com"}}`)
		a.must(t, "POST", "/v1/events", app, `{"events":[`+strings.Join(evs, ",")+"]}", 200, nil)
		for _, acc := range []string{"ring1", "ring2", "ring3", "lone"} {
			var rep struct {
				CaseID string `json:"case_id"`
			}
			a.must(t, "POST", "/v1/reports", app, fmt.Sprintf(`{"reporter":"u1","subject":{"kind":"account","id":%q},"category":"scam","description":"asked me for money"}`, acc), 201, &rep)
			a.must(t, "POST", "/v1/cases/"+rep.CaseID+"/decision", mod, `{"action":"ban_account","policy":"Terms §4.5 Fraud","explanation":"Asked users for money."}`, 201, nil)
		}

		// A's feed, as B's partner key reads it.
		a.must(t, "GET", "/v1/partners/feed", app, "", 403, nil)
		var feed partner.Feed
		raw := a.must(t, "GET", "/v1/partners/feed", feedKey, "", 200, &feed)
		h, _ := partner.NewHasher(groupKey)
		ring, _ := h.Hex(partner.KindEmail, "scamring@gmail.com")
		lone, _ := h.Hex(partner.KindEmail, "lone.wolf@example.com")
		if feed.Issuer != "a.example" || len(feed.Indicators) != 1 || feed.Indicators[0].Hash != ring || feed.Indicators[0].Accounts != 3 ||
			feed.Indicators[0].Type != partner.KindEmail {
			t.Fatalf("A's feed: %s", raw)
		}
		for _, clear := range []string{"ring", "Ring", "lone", "gmail", "555", lone} {
			if bytes.Contains(raw, []byte(clear)) {
				t.Errorf("A's feed carries %q: %s", clear, raw)
			}
		}
		stix := a.must(t, "GET", "/v1/partners/feed?format=stix", feedKey, "", 200, nil)
		if !bytes.Contains(stix, []byte(`"type":"bundle"`)) || !bytes.Contains(stix, []byte(ring)) {
			t.Errorf("STIX: %s", stix)
		}
		a.must(t, "GET", "/v1/partners/feed?since=yesterday", feedKey, "", 400, nil)

		// B registers A with A's key (what `warden partners add` does).
		var self struct {
			PublicKey string `json:"public_key"`
		}
		a.must(t, "GET", "/v1/partners", a.key(t, warden.RoleAdmin), "", 200, &self)
		if err := b.db.AddPartner(ctx, "a.example", self.PublicKey); err != nil {
			t.Fatal(err)
		}
		imp := func(partnerName, trust, feed string) string {
			return fmt.Sprintf(`{"partner":%q,"trust":%q,"feed":%s}`, partnerName, trust, feed)
		}
		forged := strings.Replace(string(raw), `"accounts":3`, `"accounts":30`, 1)
		bad := []struct {
			name, body, code string
			status           int
		}{
			{"altered", imp("a.example", "high", forged), warden.EUNVERIFIED, 422},
			{"signed by another", imp("a.example", "high", string(resign(t, raw, signingKey('x')))), warden.EUNVERIFIED, 422},
			{"unknown partner", imp("c.example", "high", string(raw)), warden.ENOTFOUND, 404},
			{"in the clear", imp("a.example", "high", strings.Replace(string(raw), ring, "scamring@gmail.com", 1)), warden.EINVALID, 400},
			{"unknown trust", imp("a.example", "total", string(raw)), warden.EINVALID, 400},
			{"not a feed", imp("a.example", "high", `[1,2]`), warden.EINVALID, 400},
			{"unknown field", `{"partner":"a.example","trust":"high","feed":{},"extra":1}`, warden.EINVALID, 400},
		}
		for _, tc := range bad {
			code, body := b.do(t, "POST", "/v1/partners/feeds", adminB, tc.body)
			if code != tc.status || errorCode(string(body)) != tc.code {
				t.Errorf("%s: %d %s, want %d %s", tc.name, code, body, tc.status, tc.code)
			}
		}
		if n := b.partners.Lists().Count("a.example"); n != 0 {
			t.Fatalf("refused imports listed %d indicators", n)
		}
		ps, _ := b.db.Partners(ctx)
		if len(ps) != 1 || ps[0].Listed != 0 {
			t.Fatalf("refused imports were stored: %+v", ps)
		}

		var res partner.ImportResult
		b.must(t, "POST", "/v1/partners/feeds", adminB, imp("a.example", "high", string(raw)), 201, &res)
		if res.Imported != 1 || res.Rejected != 0 {
			t.Fatalf("import: %+v", res)
		}
		var vs struct{ Verdicts []warden.Verdict }
		b.must(t, "POST", "/v1/events", appB, `{"events":[{"id":"b1","type":"signup","time":"2026-12-02T09:00:00Z","actor":"newcomer","attrs":{"email":"scamring+b@googlemail.com"}},
{"id":"b2","type":"signup","time":"2026-12-02T09:00:01Z","actor":"lone-on-b","attrs":{"email":"lone.wolf@example.com"}}]}`, 200, &vs)
		if v := vs.Verdicts[0]; v.Action != warden.ActionBlock || !hasPartnerHit(v, "partner_listed_identity", "a.example") {
			t.Errorf("the ring's mailbox on B: %+v", v)
		}
		if v := vs.Verdicts[1]; hasPartnerHit(v, "partner_listed_identity", "a.example") {
			t.Errorf("an email fewer than k accounts carried was listed on B: %+v", v)
		}
	})
}

func hasPartnerHit(v warden.Verdict, rule, partnerName string) bool {
	for _, h := range v.Hits {
		if h.Rule == rule && len(h.Partners) == 1 && h.Partners[0] == partnerName {
			return true
		}
	}
	return false
}

// resign returns the feed raw signed with key instead.
func resign(t *testing.T, raw []byte, key ed25519.PrivateKey) []byte {
	f, err := partner.DecodeFeed(raw, "")
	if err != nil {
		t.Fatal(err)
	}
	f.Sign(key)
	b, _ := json.Marshal(f)
	return b
}
