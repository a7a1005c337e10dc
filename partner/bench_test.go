package partner

import (
	"crypto/ed25519"
	"encoding/json"
	"testing"
	"time"

	"github.com/wardenhq/warden/engine"
)

// BenchmarkImport1M decodes, checks, verifies and lists a feed of one
// million indicators: what POST /v1/partners/feeds does with its body.
func BenchmarkImport1M(b *testing.B) {
	h := testHasher(b)
	f := testFeed(b, h, 1_000_000)
	key := testKey(1)
	f.Sign(key)
	body, err := json.Marshal(f)
	if err != nil {
		b.Fatal(err)
	}
	pub := key.Public().(ed25519.PublicKey)
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for b.Loop() {
		g, err := DecodeFeed(body, "feed.")
		if err != nil {
			b.Fatal(err)
		}
		if err := g.Verify(pub); err != nil {
			b.Fatal(err)
		}
		l := NewLists(h)
		l.now = func() time.Time { return t0 }
		if res := l.Import("p", engine.TrustHigh, g, 3); res.Imported != 1_000_000 {
			b.Fatalf("%+v", res)
		}
	}
	b.ReportMetric(float64(b.N)*1e6/b.Elapsed().Seconds(), "indicators/s")
}

// BenchmarkLookup is one partner_listed call on a list of 100,000:
// normalising, hashing and the map lookup.
func BenchmarkLookup(b *testing.B) {
	h := testHasher(b)
	l := NewLists(h)
	l.now = func() time.Time { return t0 }
	l.Import("p", engine.TrustHigh, testFeed(b, h, 100_000), 3)
	for b.Loop() {
		l.Lookup(KindEmail, "scammer77@example.com", engine.TrustLow)
	}
}
