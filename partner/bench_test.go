package partner

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/engine"
)

// BenchmarkImport1M decodes, checks, verifies and lists a feed of one
// million indicators: what POST /v1/partners/feeds does with its body.
func BenchmarkImport1M(b *testing.B) { benchImport(b, 1_000_000) }

// BenchmarkImport10M is the same with ten million, run only with
// WARDEN_BENCH_10M=1 (it needs about 12 GB and a minute of setup).
func BenchmarkImport10M(b *testing.B) {
	if os.Getenv("WARDEN_BENCH_10M") == "" {
		b.Skip("set WARDEN_BENCH_10M=1 to import ten million indicators")
	}
	benchImport(b, 10_000_000)
}

func benchImport(b *testing.B, n int) {
	h := testHasher(b)
	f := testFeed(b, h, n)
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
		if res := l.Import("p", engine.TrustHigh, g, 3); res.Imported != n {
			b.Fatalf("%+v", res)
		}
	}
	b.ReportMetric(float64(b.N)*float64(n)/b.Elapsed().Seconds(), "indicators/s")
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

// BenchmarkFeedBuild1M builds and signs a feed of one million indicators,
// each carried by three accounts: three million values normalised,
// hashed and counted, then the indicators sorted and signed.
func BenchmarkFeedBuild1M(b *testing.B) {
	h := testHasher(b)
	const n = 1_000_000
	vals := make([]Value, n)
	for i := range vals {
		vals[i] = Value{KindEmail, fmt.Sprintf("scammer%d@example.com", i)}
	}
	key := testKey(1)
	for b.Loop() {
		bl := NewBuilder(h)
		for acc := range 3 * 1000 { // 3,000 accounts of 1,000 values each
			bl.Account(t0)
			base := (acc % 1000) * 1000
			for _, v := range vals[base : base+1000] {
				bl.Value(v)
			}
		}
		f := bl.Feed(FeedOptions{Issuer: "a.example", K: 3, Now: t0})
		if len(f.Indicators) != n {
			b.Fatalf("%d indicators", len(f.Indicators))
		}
		f.Sign(key)
	}
	b.ReportMetric(float64(b.N)*n/b.Elapsed().Seconds(), "indicators/s")
}

// BenchmarkRule compares a signup through a rule calling
// partner_listed("email", attrs.email) on a list of 1,000,000 with the
// same rule comparing attrs.email to a constant: what a partner lookup
// adds to an event.
func BenchmarkRule(b *testing.B) {
	h := testHasher(b)
	l := NewLists(h)
	l.now = func() time.Time { return t0 }
	l.Import("p", engine.TrustHigh, testFeed(b, h, 1_000_000), 3)
	ev := warden.Event{ID: "e1", Type: "signup", Actor: "a1", Time: t0, Attrs: map[string]any{"email": "Scammer77@example.com"}}
	for name, when := range map[string]string{
		"partner_listed": `partner_listed("email", attrs.email)`,
		"without":        `attrs.email == "Scammer77@example.com"`,
	} {
		b.Run(name, func(b *testing.B) {
			dir := b.TempDir()
			rule := "rules:\n  - name: r\n    on: [signup]\n    when: '" + when + "'\n    action: review\n    reason: r\n"
			if err := os.WriteFile(filepath.Join(dir, "r.yaml"), []byte(rule), 0o600); err != nil {
				b.Fatal(err)
			}
			e, err := engine.Open(engine.Options{RulesDir: dir, Partners: l})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			if v := e.Evaluate(ctx, &ev); v.Action != warden.ActionReview {
				b.Fatalf("the rule did not match: %+v", v)
			}
			for b.Loop() {
				e.Evaluate(ctx, &ev)
			}
		})
	}
}
