package partner

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/wardenhq/warden"
)

// The builder shares an indicator only when k distinct accounts carry it,
// counts an account once however often it used the value, and never puts
// a clear value in the feed.
func TestBuilderThreshold(t *testing.T) {
	h := testHasher(t)
	b := NewBuilder(h)
	for i := range 3 {
		b.Account(t0.Add(time.Duration(i) * time.Hour))
		for range 5 { // many events, one account
			b.Value(Value{KindEmail, fmt.Sprintf("Ring.Leader+%d@gmail.com", i)}) // one mailbox, three spellings
		}
		b.Value(Value{KindIPPrefix, fmt.Sprintf("203.0.113.%d", 10+i)}) // one /24
		b.Value(Value{KindPhone, fmt.Sprintf("+1 555 010 %04d", i)})    // each its own
		b.Value(Value{KindEmail, "not an email"})
	}
	b.Account(t0.Add(10 * time.Hour)) // a fourth account, alone with its device
	b.Value(Value{KindDevice, "dev-lonely"})
	f := b.Feed(FeedOptions{Issuer: "a.example", K: 3, Now: t0.Add(24 * time.Hour)})
	if len(f.Indicators) != 2 {
		t.Fatalf("indicators: %+v", f.Indicators)
	}
	em, _ := h.Hex(KindEmail, "ringleader@gmail.com")
	ip, _ := h.Hex(KindIPPrefix, "203.0.113.0/24")
	for _, in := range f.Indicators {
		if in.Accounts != 3 || !in.FirstSeen.Equal(t0) || !in.ExpiresAt.Equal(t0.Add(2*time.Hour).Add(DefaultTTL)) {
			t.Errorf("indicator %+v", in)
		}
		if (in.Type == KindEmail && in.Hash != em) || (in.Type == KindIPPrefix && in.Hash != ip) {
			t.Errorf("hash of %s: %s", in.Type, in.Hash)
		}
	}
	body, _ := json.Marshal(f)
	for _, clear := range []string{"ring", "Ring", "203.0.113", "555", "lonely", "gmail"} {
		if bytes.Contains(body, []byte(clear)) {
			t.Errorf("the feed carries %q in the clear: %s", clear, body)
		}
	}
	if f2 := b.Feed(FeedOptions{Issuer: "a.example", K: 4, Now: t0}); len(f2.Indicators) != 0 {
		t.Errorf("k=4: %+v", f2.Indicators)
	}
	since := t0.Add(3 * time.Hour)
	if f3 := b.Feed(FeedOptions{Issuer: "a.example", K: 3, Now: t0, Since: &since}); len(f3.Indicators) != 0 || f3.Since == nil {
		t.Errorf("since after the last confirmation: %+v", f3)
	}
	if f4 := b.Feed(FeedOptions{Issuer: "a.example", K: 3, Now: t0.Add(DefaultTTL + 3*time.Hour)}); len(f4.Indicators) != 0 {
		t.Errorf("after the indicators expired: %+v", f4.Indicators)
	}
}

func TestValuesOf(t *testing.T) {
	ev := &warden.Event{Device: "d1", IP: "198.51.100.7", Text: "win big at https://scam.example/win?x=1 now",
		Attrs: map[string]any{"email": "a@b.example", "phone": "+44 20 7946 0958", "website": "shop.example"}}
	got := fmt.Sprint(ValuesOf(ev, nil))
	want := "[{email a@b.example} {phone +44 20 7946 0958} {url shop.example} {url https://scam.example/win?x=1} {device d1} {ip_prefix 198.51.100.7}]"
	if got != want {
		t.Errorf("ValuesOf = %s\nwant %s", got, want)
	}
}

// stixPattern is the comparison expression a Warden bundle's indicators
// use (STIX 2.1 §9 patterning grammar, restricted to it).
var stixPattern = regexp.MustCompile(`^\[x-warden-hashed-value:kind = '(email|phone|url|device|ip_prefix)' AND x-warden-hashed-value:hmac_sha256 = '[0-9a-f]{64}'\]$`)

// checkSTIX validates a bundle against the STIX 2.1 schema rules
// (testdata/stix21-subset.schema.json) and the rules the schemas cannot
// say: every created_by_ref names an identity in the bundle, ids are
// unique, modified is not before created, valid_until follows valid_from,
// and patterns parse.
func checkSTIX(t *testing.T, doc []byte) error {
	t.Helper()
	raw, err := os.ReadFile("testdata/stix21-subset.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	sv, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("stix.json", sv); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("stix.json")
	if err != nil {
		t.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return err
	}
	if err := schema.Validate(v); err != nil {
		return err
	}
	var b struct {
		Objects []map[string]any `json:"objects"`
	}
	if err := json.Unmarshal(doc, &b); err != nil {
		return err
	}
	ids, identities := map[string]bool{}, map[string]bool{}
	for _, o := range b.Objects {
		id := o["id"].(string)
		if ids[id] {
			return fmt.Errorf("id %s repeats", id)
		}
		ids[id] = true
		if o["type"] == "identity" {
			identities[id] = true
		}
	}
	for _, o := range b.Objects {
		if o["modified"].(string) < o["created"].(string) {
			return fmt.Errorf("%s modified before it was created", o["id"])
		}
		if o["type"] != "indicator" {
			continue
		}
		if ref, _ := o["created_by_ref"].(string); ref != "" && !identities[ref] {
			return fmt.Errorf("%s created by %s, not in the bundle", o["id"], ref)
		}
		if until, ok := o["valid_until"].(string); ok && until <= o["valid_from"].(string) {
			return fmt.Errorf("%s valid until %s, not after %s", o["id"], until, o["valid_from"])
		}
		if p := o["pattern"].(string); !stixPattern.MatchString(p) {
			return fmt.Errorf("%s pattern %q", o["id"], p)
		}
	}
	return nil
}

func TestSTIXBundle(t *testing.T) {
	h := testHasher(t)
	f := testFeed(t, h, 3)
	f.Indicators[1].Type = KindIPPrefix
	f.Sign(testKey(1))
	doc, err := f.STIX()
	if err != nil {
		t.Fatal(err)
	}
	if err := checkSTIX(t, doc); err != nil {
		t.Fatalf("the bundle is not valid STIX 2.1: %v\n%s", err, doc)
	}
	if n := strings.Count(string(doc), `"type":"indicator"`); n != 3 {
		t.Errorf("%d indicators", n)
	}
	again, _ := f.STIX()
	if !bytes.Equal(doc, again) {
		t.Error("the same feed gave two bundles")
	}
	// The checks can fail: each of these breaks a STIX rule.
	for name, bad := range map[string]string{
		"seconds only":   strings.Replace(string(doc), ".000Z", "Z", 1),
		"not a uuid":     strings.Replace(string(doc), `"id":"indicator--`, `"id":"indicator--x`, 1),
		"spec version":   strings.Replace(string(doc), `"spec_version":"2.1"`, `"spec_version":"2.0"`, 1),
		"no pattern":     strings.Replace(string(doc), `"pattern":`, `"patterns":`, 1),
		"bad custom":     strings.Replace(string(doc), `"x_warden_accounts"`, `"accounts"`, 1),
		"pattern syntax": strings.Replace(string(doc), `x-warden-hashed-value:kind = '`, `kind = '`, 1),
	} {
		if checkSTIX(t, []byte(bad)) == nil {
			t.Errorf("%s: passed the STIX checks", name)
		}
	}
}
