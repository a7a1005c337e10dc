package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/consent"
	"github.com/wardenhq/warden/mfa"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

// privacyClient calls serve's routes as the platform (app key) and an admin.
type privacyClient struct {
	t          *testing.T
	m          *matrixServer
	app, admin string
}

func newPrivacyClient(t *testing.T, db *sqlstore.DB) *privacyClient {
	m := newMatrixServer(t, db)
	c := &privacyClient{t: t, m: m}
	for _, role := range []string{warden.RoleApp, warden.RoleAdmin} {
		secret, _, err := db.CreateKey(context.Background(), role, "privacy-"+role)
		if err != nil {
			t.Fatal(err)
		}
		if role == warden.RoleApp {
			c.app = secret
		} else {
			c.admin = secret
		}
	}
	return c
}

// do sends a request and returns the status, headers and body.
func (c *privacyClient) do(method, path, key, body string) (int, http.Header, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.m.srv.URL+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	n := c.m.client.Add(1)
	req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.19.%d.%d", n/250%250, n%250+1))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// call is do that fails unless the status is want, decoding into out.
func (c *privacyClient) call(method, path, key, body string, want int, out any) []byte {
	c.t.Helper()
	code, _, b := c.do(method, path, key, body)
	if code != want {
		c.t.Fatalf("%s %s = %d %s, want %d", method, path, code, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return b
}

func jpTermsBody(version, text, retention string, purposes ...string) string {
	b, _ := json.Marshal(map[string]any{"kind": "terms", "region": "JP", "version": version, "text": text,
		"declares": map[string]any{"purposes": purposes, "data_categories": []string{"profile", "messages"}, "recipients": []string{"cloud host"},
			"retention": retention, "controller": "Example KK", "contact": "privacy@example.jp"}})
	return string(b)
}

// TestPrivacyOverAPI is the "must show" over the API: a material
// and a non-material version of the JP terms, only the first makes users
// pending; accepting yields a JWS that verifies with the published key and
// carries the Kantara fields; TOTP enrolment, verification, replay refused,
// a recovery code used once, failures rate-limited; the funnel by region.
func TestPrivacyOverAPI(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		c := newPrivacyClient(t, db)
		var v1, v2, v3 consent.DocumentResult
		c.call("POST", "/v1/documents", c.admin, jpTermsBody("1", "You agree.\nWe keep data 18 months.\n", "18 months", "service"), 201, &v1)
		if !v1.Material || v1.MaterialReasons[0] != "first_version" {
			t.Fatalf("v1 %+v", v1)
		}
		// An app key may not publish documents.
		c.call("POST", "/v1/documents", c.app, jpTermsBody("x", "t", "1 month", "a"), 403, nil)

		accept := func(user, doc string) consent.Decision {
			var d consent.Decision
			c.call("POST", "/v1/users/"+user+"/consent", c.app, fmt.Sprintf(`{"document_id":%q,"decision":"accept","collection_method":"terms banner"}`, doc), 201, &d)
			return d
		}
		var st consent.Status
		c.call("GET", "/v1/users/u1/consent?region=JP", c.app, "", 200, &st)
		if len(st.Pending) != 1 || st.Pending[0].DocumentID != v1.ID {
			t.Fatalf("before accepting: %+v", st)
		}
		accept("u1", v1.ID)
		accept("u2", v1.ID)

		// A text-only edit: not material, nobody is asked again.
		c.call("POST", "/v1/documents", c.admin, jpTermsBody("1.1", "You agree to these terms.\nWe keep data 18 months.\n", "18 months", "service"), 201, &v2)
		if v2.Material || len(v2.MaterialReasons) != 0 {
			t.Fatalf("text edit reported material: %+v", v2)
		}
		c.call("GET", "/v1/users/u1/consent?region=JP", c.app, "", 200, &st)
		if len(st.Pending) != 0 {
			t.Fatalf("a text-only edit made u1 pending: %+v", st)
		}
		// A material change: a new purpose and a longer retention.
		c.call("POST", "/v1/documents", c.admin, jpTermsBody("2", "You agree to these terms.\nWe keep data 24 months.\n", "24 months", "service", "ads measurement"), 201, &v3)
		if !v3.Material || !strings.Contains(strings.Join(v3.WhatChanged, "|"), `added purpose "ads measurement"`) || !strings.Contains(strings.Join(v3.WhatChanged, "|"), "retention 18 months → 24 months") {
			t.Fatalf("v3 %+v", v3)
		}
		c.call("GET", "/v1/users/u1/consent?region=JP", c.app, "", 200, &st)
		if len(st.Pending) != 1 || st.Pending[0].DocumentID != v3.ID || len(st.Current) != 1 || st.Current[0].Decision != "accept" {
			t.Fatalf("after the material change: %+v", st)
		}
		// A decline is recorded, returned, and leaves the document pending.
		var dec consent.Decision
		c.call("POST", "/v1/users/u2/consent", c.app, fmt.Sprintf(`{"document_id":%q,"decision":"decline","collection_method":"terms banner"}`, v3.ID), 201, &dec)
		c.call("GET", "/v1/users/u2/consent?region=JP", c.app, "", 200, &st)
		if len(st.Pending) != 1 || st.Current[0].Decision != "decline" || st.Current[0].ReceiptID != dec.ReceiptID {
			t.Fatalf("after a decline: %+v", st)
		}
		// Bad input: a clear 4xx naming the field, nothing recorded.
		for body, field := range map[string]string{
			`{"document_id":"doc_nope","decision":"accept","collection_method":"x"}`:                       "document_id",
			fmt.Sprintf(`{"document_id":%q,"decision":"maybe","collection_method":"x"}`, v3.ID):            "decision",
			fmt.Sprintf(`{"document_id":%q,"decision":"accept","collection_method":"x","extra":1}`, v3.ID): "extra",
		} {
			code, _, b := c.do("POST", "/v1/users/u1/consent", c.app, body)
			if code < 400 || code >= 500 || !strings.Contains(string(b), `"field":"`+field+`"`) {
				t.Errorf("%s: %d %s, want a 4xx naming %s", body, code, b, field)
			}
		}
		code, _, b := c.do("GET", "/v1/users/u1/consent?region=XX", c.app, "")
		if code != 400 || !strings.Contains(string(b), `"field":"region"`) {
			t.Errorf("region XX: %d %s", code, b)
		}
		c.call("GET", "/v1/users/u1/consent?region=JP", c.app, "", 200, &st)
		if len(st.Pending) != 1 {
			t.Fatalf("refused input changed the state: %+v", st)
		}

		// The receipt verifies with the published key and has the Kantara
		// fields.
		d := accept("u1", v3.ID)
		var set jose.JSONWebKeySet
		c.call("GET", "/.well-known/jwks.json", "", "", 200, &set)
		payload, err := consent.VerifyReceipt(d.Receipt, set)
		if err != nil {
			t.Fatalf("the receipt does not verify with /.well-known/jwks.json: %v", err)
		}
		var rc map[string]any
		if err := json.Unmarshal(payload, &rc); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"version", "jurisdiction", "consentTimestamp", "collectionMethod", "consentReceiptID", "piiPrincipalId", "piiControllers", "policyUrl", "services", "sensitive", "spiCat"} {
			if _, ok := rc[k]; !ok {
				t.Errorf("the receipt lacks Kantara field %s: %s", k, payload)
			}
		}
		if rc["version"] != "KI-CR-v1.1.0" || rc["piiPrincipalId"] != "u1" || rc["consentReceiptID"] != d.ReceiptID || rc["jurisdiction"] != "JP" {
			t.Errorf("receipt %s", payload)
		}
		c.call("GET", "/v1/users/u1/consent?region=JP", c.app, "", 200, &st)
		if len(st.Pending) != 0 {
			t.Fatalf("accepted, still pending: %+v", st)
		}

		// TOTP.
		var e mfa.Enrolment
		c.call("POST", "/v1/users/u1/2fa/totp", c.app, `{"region":"JP","moment":"after_login","variant":"a"}`, 201, &e)
		if !strings.HasPrefix(e.OtpauthURI, "otpauth://totp/") || e.Secret == "" {
			t.Fatalf("enrolment %+v", e)
		}
		c.call("POST", "/v1/users/u1/2fa/totp", c.app, ``, 409, nil)
		code6 := func(at time.Time) string {
			s, err := mfa.Code(e.Secret, at)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		c.call("POST", "/v1/users/u1/2fa/totp/confirm", c.app, `{"code":"`+code6(time.Now().Add(-10*time.Minute))+`"}`, 422, nil)
		var conf struct {
			RecoveryCodes []string `json:"recovery_codes"`
		}
		c.call("POST", "/v1/users/u1/2fa/totp/confirm", c.app, `{"code":"`+code6(time.Now())+`"}`, 200, &conf)
		if len(conf.RecoveryCodes) != 10 {
			t.Fatalf("recovery codes %v", conf.RecoveryCodes)
		}
		next := code6(time.Now().Add(30 * time.Second))
		var ok struct {
			OK     bool   `json:"ok"`
			Method string `json:"method"`
		}
		c.call("POST", "/v1/users/u1/2fa/verify", c.app, `{"code":"`+next+`"}`, 200, &ok)
		if !ok.OK || ok.Method != "totp" {
			t.Fatalf("verify %+v", ok)
		}
		c.call("POST", "/v1/users/u1/2fa/verify", c.app, `{"code":"`+next+`"}`, 422, nil)
		c.call("POST", "/v1/users/u1/2fa/verify", c.app, `{"code":"`+conf.RecoveryCodes[0]+`"}`, 200, &ok)
		if ok.Method != "recovery_code" {
			t.Fatalf("recovery %+v", ok)
		}
		c.call("POST", "/v1/users/u1/2fa/verify", c.app, `{"code":"`+conf.RecoveryCodes[0]+`"}`, 422, nil)
		var s2 mfa.Status
		// console users' second factors are out of an app key's reach
		for _, path := range []string{"/v1/users/warden-console:usr_x/2fa", "/v1/users/warden-console:usr_x/2fa/verify", "/v1/users/warden-console:usr_x/2fa/totp"} {
			method := "POST"
			if strings.HasSuffix(path, "/2fa") {
				method = "GET"
			}
			c.call(method, path, c.app, `{"code":"123456"}`, 400, nil)
		}
		c.call("GET", "/v1/users/u1/2fa", c.app, "", 200, &s2)
		if !s2.Enabled || s2.RecoveryCodesLeft != 9 || strings.Join(s2.Methods, ",") != "totp,recovery_code" {
			t.Fatalf("status %+v", s2)
		}
		// A good code cleared the replay's failure; the used recovery code
		// and four wrong codes make five, which lock the user: 429 with
		// Retry-After.
		for range 3 {
			c.call("POST", "/v1/users/u1/2fa/verify", c.app, `{"code":"000000"}`, 422, nil)
		}
		code, hdr, b := c.do("POST", "/v1/users/u1/2fa/verify", c.app, `{"code":"000000"}`)
		ra, _ := strconv.Atoi(hdr.Get("Retry-After"))
		if code != 429 || ra < 800 || ra > 900 {
			t.Fatalf("fifth failure: %d Retry-After %q %s", code, hdr.Get("Retry-After"), b)
		}
		c.call("POST", "/v1/users/u1/2fa/verify", c.app, `{"code":"`+conf.RecoveryCodes[1]+`"}`, 429, nil)
		c.call("POST", "/v1/users/u1/2fa/verify", c.app, `{}`, 400, nil)

		// The funnel, by region: prompts from the platform plus the
		// enrolment calls.
		c.call("POST", "/v1/2fa/funnel", c.app, `{"events":[{"stage":"shown","region":"JP","moment":"after_login"},{"stage":"shown","region":"JP","moment":"after_login"},{"stage":"opened","region":"JP","moment":"after_login"},{"stage":"shown","region":"US","moment":"after_security_event"}]}`, 200, nil)
		c.call("POST", "/v1/2fa/funnel", c.app, `{"events":[{"stage":"confirmed","region":"JP"}]}`, 400, nil)
		var f mfa.Funnel
		c.call("GET", "/v1/2fa/funnel", c.admin, "", 200, &f)
		jp, us := f.ByRegion["JP"], f.ByRegion["US"]
		if jp == nil || us == nil || *jp != (mfa.Counts{Shown: 2, Opened: 1, Started: 1, Confirmed: 1}) || *us != (mfa.Counts{Shown: 1}) {
			t.Fatalf("funnel by region %+v", f.ByRegion)
		}
		c.call("GET", "/v1/2fa/funnel", c.app, "", 403, nil)
	})
}

var formAction = regexp.MustCompile(`action="(/center/[^"?]+)/consent(?:\?[^"]*)?"`)
var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// TestCenterLink follows a center link: the page shows the pending
// material change; accepting through its form records a verified receipt;
// enrolling shows a QR code and confirming shows the recovery codes; a
// forged or cross-site post is refused.
func TestCenterLink(t *testing.T) {
	c := newPrivacyClient(t, sqlstoretest.SQLite(t))
	var v1, v2 consent.DocumentResult
	c.call("POST", "/v1/documents", c.admin, jpTermsBody("1", "Terms.\n", "18 months", "service"), 201, &v1)
	c.call("POST", "/v1/users/u9/consent", c.app, fmt.Sprintf(`{"document_id":%q,"decision":"accept","collection_method":"signup"}`, v1.ID), 201, nil)
	c.call("POST", "/v1/documents", c.admin, jpTermsBody("2", "Terms.\n", "24 months", "service"), 201, &v2)

	var link struct {
		URL       string    `json:"url"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	c.call("POST", "/v1/users/u9/center", c.app, `{"region":"JP"}`, 201, &link)
	if d := time.Until(link.ExpiresAt); d < 10*time.Minute || d > 16*time.Minute {
		t.Errorf("link expires in %v", d)
	}
	c.call("POST", "/v1/users/u9/center", c.app, `{"region":"GB"}`, 400, nil)
	u, err := url.Parse(link.URL)
	if err != nil || !strings.HasPrefix(link.URL, c.m.srv.URL+"/center/") {
		t.Fatalf("url %q", link.URL)
	}
	// A JP user's page is in Japanese unless asked otherwise.
	if page := string(c.call("GET", u.Path, "", "", 200, nil)); !strings.Contains(page, `<html lang="ja">`) || !strings.Contains(page, "データの保存期間: 18 months → 24 months") {
		t.Fatalf("the JP page is not in Japanese:\n%s", page)
	}
	page := string(c.call("GET", u.Path+"?lang=en", "", "", 200, nil))
	if !strings.Contains(page, "How long data is kept: 18 months → 24 months") || !strings.Contains(page, "Two-factor authentication is off.") {
		t.Fatalf("the page does not show the material change and 2FA state:\n%s", page)
	}
	action := formAction.FindStringSubmatch(page)
	csrf := csrfField.FindStringSubmatch(page)
	if action == nil || csrf == nil {
		t.Fatal("no consent form")
	}
	post := func(path string, form url.Values, crossSite bool) (int, string) {
		req, _ := http.NewRequest("POST", c.m.srv.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", c.m.srv.URL)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		if crossSite {
			req.Header.Set("Origin", "https://attacker.example")
			req.Header.Set("Sec-Fetch-Site", "cross-site")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	form := url.Values{"csrf": {csrf[1]}, "document_id": {v2.ID}, "decision": {"accept"}}
	if code, _ := post(action[1]+"/consent", form, true); code != 403 {
		t.Errorf("cross-site post: %d", code)
	}
	if code, _ := post(action[1]+"/consent", url.Values{"document_id": {v2.ID}, "decision": {"accept"}}, false); code != 403 {
		t.Errorf("post without the form token: %d", code)
	}
	if code, _ := post("/center/forged.token/consent", form, false); code != 404 {
		t.Errorf("forged link: %d", code)
	}
	var st consent.Status
	c.call("GET", "/v1/users/u9/consent?region=JP", c.app, "", 200, &st)
	if len(st.Pending) != 1 {
		t.Fatalf("refused posts changed consent: %+v", st)
	}
	code, body := post(action[1]+"/consent?lang=en", form, false)
	if code != 200 || !strings.Contains(body, "verified with its published key") || !strings.Contains(body, "Nothing is waiting for your decision") {
		t.Fatalf("accept: %d\n%s", code, body)
	}
	c.call("GET", "/v1/users/u9/consent?region=JP", c.app, "", 200, &st)
	if len(st.Pending) != 0 || st.Current[0].Version != "2" {
		t.Fatalf("after accepting in the center: %+v", st)
	}

	code, body = post(action[1]+"/2fa?lang=en", url.Values{"csrf": {csrf[1]}}, false)
	if code != 200 || !strings.Contains(body, `src="data:image/png;base64,`) {
		t.Fatalf("begin: %d\n%s", code, body)
	}
	secret := regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`).FindStringSubmatch(body)
	if secret == nil {
		t.Fatal("no secret on the page")
	}
	tc, _ := mfa.Code(secret[1], time.Now())
	code, body = post(action[1]+"/2fa/confirm?lang=en", url.Values{"csrf": {csrf[1]}, "code": {tc}}, false)
	if code != 200 || strings.Count(body, "<li>") < 10 || !strings.Contains(body, `id="recovery-codes"`) {
		t.Fatalf("confirm: %d\n%s", code, body)
	}
	var s mfa.Status
	c.call("GET", "/v1/users/u9/2fa", c.app, "", 200, &s)
	if !s.Enabled || s.RecoveryCodesLeft != 10 {
		t.Fatalf("after enrolling in the center: %+v", s)
	}
	var f mfa.Funnel
	c.call("GET", "/v1/2fa/funnel", c.admin, "", 200, &f)
	if m := f.ByMoment["center"]; m == nil || m.Shown < 1 || m.Opened != 1 || m.Started != 1 || m.Confirmed != 1 {
		t.Fatalf("center funnel %+v", f.ByMoment)
	}
	// A forged or tampered link shows nothing.
	if code, _, _ := c.do("GET", u.Path+"x", "", ""); code != 404 {
		t.Errorf("tampered link: %d", code)
	}
}

// TestDemoConsentPending: after the demo's setup (run twice, as restarts
// do), the demo user has the material change to the terms pending, over
// the API and on the center page its link opens.
func TestDemoConsentPending(t *testing.T) {
	c := newPrivacyClient(t, sqlstoretest.SQLite(t))
	ctx := context.Background()
	var link string
	for range 2 {
		var err error
		if link, err = demoPrivacy(ctx, c.m.priv, c.m.srv.URL); err != nil {
			t.Fatal(err)
		}
	}
	var st consent.Status
	c.call("GET", "/v1/users/"+demoUser+"/consent", c.app, "", 200, &st)
	if len(st.Pending) != 1 || len(st.Current) != 1 || !strings.Contains(strings.Join(st.Pending[0].WhatChanged, "|"), `added purpose "ads measurement"`) {
		t.Fatalf("demo user: %+v", st)
	}
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	page := string(c.call("GET", u.Path+"?lang=en", "", "", 200, nil))
	if !strings.Contains(page, "How long data is kept: 18 months → 24 months") {
		t.Fatalf("the demo link's page does not show the change:\n%s", page)
	}
}
