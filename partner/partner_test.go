package partner

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/engine"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

var testGroupKey = bytes.Repeat([]byte("k"), 32)

func testKey(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

func testHasher(t testing.TB) *Hasher {
	h, err := NewHasher(testGroupKey)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestNormalise(t *testing.T) {
	tests := []struct{ kind, in, want string }{
		{KindEmail, "  Jane.Doe+promo@GoogleMail.com ", "janedoe@gmail.com"},
		{KindEmail, "jane.doe@example.com", "jane.doe@example.com"},
		{KindEmail, "not an email", ""},
		{KindPhone, "+44 (20) 7946-0958", "442079460958"},
		{KindPhone, "12345", ""},
		{KindURL, "HTTPS://www.Scam.example:8443/Win/?utm=1#x", "scam.example/win"},
		{KindURL, "scam.example/win/", "scam.example/win"},
		{KindURL, "http://", ""},
		{KindDevice, " dev-1 ", "dev-1"},
		{KindIPPrefix, "203.0.113.77", "203.0.113.0/24"},
		{KindIPPrefix, "203.0.113.0/24", "203.0.113.0/24"},
		{KindIPPrefix, "::ffff:203.0.113.9", "203.0.113.0/24"},
		{KindIPPrefix, "2001:db8:abcd:12::1", "2001:db8:abcd::/48"},
		{KindIPPrefix, "nope", ""},
		{"color", "red", ""},
	}
	for _, tc := range tests {
		if got := Normalise(tc.kind, tc.in); got != tc.want {
			t.Errorf("Normalise(%s, %q) = %q, want %q", tc.kind, tc.in, got, tc.want)
		}
	}
	if _, err := NewHasher([]byte("short")); err == nil {
		t.Error("a 5-byte group key was accepted")
	}
}

func testFeed(t testing.TB, h *Hasher, n int) *Feed {
	f := &Feed{Issuer: "a.example", IssuedAt: t0, ExpiresAt: t0.Add(7 * 24 * time.Hour), Indicators: make([]Indicator, 0, n)}
	for i := range n {
		hx, ok := h.Hex(KindEmail, fmt.Sprintf("scammer%d@example.com", i))
		if !ok {
			t.Fatal("no hash")
		}
		f.Indicators = append(f.Indicators, Indicator{Type: KindEmail, Hash: hx, FirstSeen: t0.Add(-time.Hour), ExpiresAt: t0.Add(90 * 24 * time.Hour), Accounts: 3})
	}
	sortIndicators(f.Indicators)
	return f
}

func TestFeedSignVerifyDecode(t *testing.T) {
	h := testHasher(t)
	f := testFeed(t, h, 3)
	key := testKey(1)
	f.Sign(key)
	body, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	g, err := DecodeFeed(body, "feed.")
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Verify(key.Public().(ed25519.PublicKey)); err != nil {
		t.Fatalf("verify: %v", err)
	}
	if err := g.Verify(testKey(2).Public().(ed25519.PublicKey)); warden.ErrorCode(err) != warden.EUNVERIFIED {
		t.Fatalf("another partner's key: %v", err)
	}
	// Any change to what is signed breaks the signature.
	for name, edit := range map[string]func(*Feed){
		"accounts": func(f *Feed) { f.Indicators[0].Accounts++ },
		"issuer":   func(f *Feed) { f.Issuer = "b.example" },
		"expiry":   func(f *Feed) { f.ExpiresAt = f.ExpiresAt.Add(time.Second) },
		"dropped":  func(f *Feed) { f.Indicators = f.Indicators[1:] },
	} {
		c, _ := DecodeFeed(body, "")
		edit(c)
		if err := c.Verify(key.Public().(ed25519.PublicKey)); warden.ErrorCode(err) != warden.EUNVERIFIED {
			t.Errorf("%s changed: %v", name, err)
		}
	}
	// Another spelling of the same times still verifies: the values are signed.
	other := bytes.ReplaceAll(body, []byte("T12:00:00Z"), []byte("T13:00:00+01:00"))
	if c, err := DecodeFeed(other, ""); err != nil || c.Verify(key.Public().(ed25519.PublicKey)) != nil {
		t.Errorf("same times in another zone: %v", err)
	}
}

func TestDecodeFeedRefusesBadFeeds(t *testing.T) {
	h := testHasher(t)
	f := testFeed(t, h, 2)
	f.Sign(testKey(1))
	good, _ := json.Marshal(f)
	tests := []struct{ name, body, field string }{
		{"not JSON", `{"issuer":`, ""},
		{"unknown field", strings.Replace(string(good), `"issuer"`, `"extra":1,"issuer"`, 1), "feed.extra"},
		{"clear value", strings.Replace(string(good), f.Indicators[0].Hash, "scammer0@example.com", 1), "feed.indicators[0].hash"},
		{"upper-case hex", strings.Replace(string(good), f.Indicators[1].Hash, strings.ToUpper(f.Indicators[1].Hash), 1), "feed.indicators[1].hash"},
		{"unknown type", strings.Replace(string(good), `"type":"email"`, `"type":"colour"`, 1), "feed.indicators[0].type"},
		{"no signature", strings.Replace(string(good), f.Signature, "", 1), "feed.signature"},
		{"no issuer", strings.Replace(string(good), `"issuer":"a.example"`, `"issuer":" "`, 1), "feed.issuer"},
		{"zero accounts", strings.Replace(string(good), `"accounts":3`, `"accounts":0`, 1), "feed.indicators[0].accounts"},
		{"repeated", strings.Replace(string(good), f.Indicators[1].Hash, f.Indicators[0].Hash, 1), "feed.indicators[1].hash"},
		{"no indicators", `{"issuer":"a","issued_at":"2026-01-01T00:00:00Z","expires_at":"2026-01-02T00:00:00Z","signature":"x"}`, "feed.indicators"},
	}
	rev := *f
	rev.Indicators = []Indicator{f.Indicators[1], f.Indicators[0]}
	reversed, _ := json.Marshal(&rev)
	tests = append(tests, struct{ name, body, field string }{"out of order", string(reversed), "feed.indicators[1].hash"})
	for _, tc := range tests {
		_, err := DecodeFeed([]byte(tc.body), "feed.")
		var we *warden.Error
		if !errors.As(err, &we) || we.Code != warden.EINVALID || we.Field != tc.field {
			t.Errorf("%s: %v (field %q), want invalid at %q", tc.name, err, fieldOf(err), tc.field)
		}
	}
}

func fieldOf(err error) string {
	var we *warden.Error
	if errors.As(err, &we) {
		return we.Field
	}
	return ""
}

// FuzzDecodeFeed: DecodeFeed never panics; what it refuses is a
// *warden.Error; what it accepts re-encodes to a feed that decodes to the
// same signed bytes (so the signature means the same thing after a round
// trip), with every hash 64 hex digits.
func FuzzDecodeFeed(f *testing.F) {
	h := testHasher(f)
	feed := testFeed(f, h, 2)
	feed.Sign(testKey(1))
	good, _ := json.Marshal(feed)
	f.Add(good)
	f.Add([]byte(`{"issuer":"a","issued_at":"2026-01-01T00:00:00Z","expires_at":"2026-01-02T00:00:00Z","indicators":[],"signature":"ed25519:x"}`))
	f.Add([]byte(`{"issuer":"a","indicators":[{"type":"email","hash":"jane@example.com"}]}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"issuer":"\ud800"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		g, err := DecodeFeed(body, "feed.")
		if err != nil {
			var we *warden.Error
			if !errors.As(err, &we) || we.Message == "" {
				t.Fatalf("refusal is not a warden.Error: %v", err)
			}
			return
		}
		for _, in := range g.Indicators {
			if _, ok := parseHash(in.Hash); !ok {
				t.Fatalf("accepted hash %q", in.Hash)
			}
		}
		again, err := json.Marshal(g)
		if err != nil {
			t.Fatal(err)
		}
		g2, err := DecodeFeed(again, "")
		if err != nil {
			t.Fatalf("re-encoded feed refused: %v", err)
		}
		if !bytes.Equal(g.SignedBytes(), g2.SignedBytes()) {
			t.Fatalf("round trip changed the signed bytes")
		}
		if !bytes.Equal(g.SignedBytes(), signedJSON(t, g)) {
			t.Fatalf("SignedBytes is not the JSON of the signed fields:\n%s\n%s", g.SignedBytes(), signedJSON(t, g))
		}
	})
}

func TestListsLookup(t *testing.T) {
	h := testHasher(t)
	l := NewLists(h)
	l.now = func() time.Time { return t0 }
	if p, tr := l.Lookup(KindEmail, "scammer0@example.com", engine.TrustLow); tr != engine.TrustNone || p != "" {
		t.Fatalf("empty lists: %q %d", p, tr)
	}
	f := testFeed(t, h, 3)
	f.Indicators[2].ExpiresAt = t0.Add(-time.Second) // expired
	f.Indicators[1].Accounts = 2                     // below this server's k
	res := l.Import("smallco", engine.TrustLow, f, 3)
	if res.Imported != 1 || res.Rejected != 2 {
		t.Fatalf("import: %+v", res)
	}
	hit := ""
	for i := range 3 {
		v := fmt.Sprintf("Scammer%d+x@Example.com", i) // normalised before hashing
		if _, tr := l.Lookup(KindEmail, v, engine.TrustLow); tr != engine.TrustNone {
			hit = v
		}
	}
	if hit == "" {
		t.Fatal("no listed email found")
	}
	if _, tr := l.Lookup(KindPhone, hit, engine.TrustLow); tr != engine.TrustNone {
		t.Fatal("listed as an email, found as a phone")
	}
	g := testFeed(t, h, 3)
	l.Import("bigco", engine.TrustHigh, g, 3)
	if p, tr := l.Lookup(KindEmail, hit, engine.TrustLow); p != "bigco" || tr != engine.TrustHigh {
		t.Fatalf("two partners: %q %d, want bigco high", p, tr)
	}
	l.Import("bigco", engine.TrustHigh, &Feed{}, 3) // bigco's new, empty list
	if p, tr := l.Lookup(KindEmail, hit, engine.TrustLow); p != "smallco" || tr != engine.TrustLow {
		t.Fatalf("after bigco emptied its list: %q %d", p, tr)
	}
	if _, tr := l.Lookup(KindEmail, hit, engine.TrustMedium); tr != engine.TrustNone {
		t.Fatal("a low-trust listing answered a medium floor")
	}
	l.now = func() time.Time { return t0.Add(91 * 24 * time.Hour) }
	if _, tr := l.Lookup(KindEmail, hit, engine.TrustLow); tr != engine.TrustNone {
		t.Fatal("an expired listing answered")
	}
}

// signedJSON is what SignedBytes must equal: encoding/json's compact
// form of the signed fields, without HTML escaping.
func signedJSON(t testing.TB, f *Feed) []byte {
	type signed struct {
		Issuer     string      `json:"issuer"`
		IssuedAt   time.Time   `json:"issued_at"`
		ExpiresAt  time.Time   `json:"expires_at"`
		Since      *time.Time  `json:"since,omitempty"`
		Indicators []Indicator `json:"indicators"`
	}
	utc := func(t time.Time) time.Time { return t.UTC() }
	s := signed{Issuer: f.Issuer, IssuedAt: utc(f.IssuedAt), ExpiresAt: utc(f.ExpiresAt), Indicators: []Indicator{}}
	if f.Since != nil {
		x := utc(*f.Since)
		s.Since = &x
	}
	for _, in := range f.Indicators {
		in.FirstSeen, in.ExpiresAt = utc(in.FirstSeen), utc(in.ExpiresAt)
		s.Indicators = append(s.Indicators, in)
	}
	var w bytes.Buffer
	enc := json.NewEncoder(&w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(w.Bytes(), []byte("\n"))
}

func TestSignedBytesIsJSON(t *testing.T) {
	h := testHasher(t)
	for _, issuer := range []string{"a.example", `quote " and \ back`, "<b>&amp;</b>", "tab\there", "émigré ☃", "\u2028", ""} {
		f := testFeed(t, h, 3)
		f.Issuer = issuer
		f.IssuedAt = f.IssuedAt.Add(123456789 * time.Nanosecond).In(time.FixedZone("x", 3600))
		since := t0.Add(-time.Hour)
		f.Since = &since
		if got, want := f.SignedBytes(), signedJSON(t, f); !bytes.Equal(got, want) {
			t.Errorf("issuer %q:\n got %s\nwant %s", issuer, got, want)
		}
	}
}
