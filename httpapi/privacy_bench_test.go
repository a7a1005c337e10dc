package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/consent"
	"github.com/wardenhq/warden/httpapi"
	"github.com/wardenhq/warden/internal/sealed"
	"github.com/wardenhq/warden/mfa"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

// latencyHistogram counts latencies in log-spaced buckets (1 µs to 10 s,
// 100 a decade, so a bucket's bounds differ by 2.3 %), from which it reads
// percentiles.
type latencyHistogram struct {
	mu     sync.Mutex
	counts [701]int64
	n      int64
}

func (h *latencyHistogram) add(d time.Duration) {
	us := max(float64(d)/float64(time.Microsecond), 1)
	i := min(int(math.Log10(us)*100), len(h.counts)-1)
	h.mu.Lock()
	h.counts[i]++
	h.n++
	h.mu.Unlock()
}

// quantile is the upper bound of the bucket holding quantile q, in ms.
func (h *latencyHistogram) quantile(q float64) float64 {
	want := int64(math.Ceil(q * float64(h.n)))
	var seen int64
	for i, c := range h.counts {
		seen += c
		if seen >= want && c > 0 {
			return math.Pow(10, float64(i+1)/100) / 1000
		}
	}
	return math.NaN()
}

// BenchmarkConsentCheck is GET /v1/users/{user}/consent over loopback HTTP
// against PostgreSQL holding 50 document versions (three kinds, every
// region) and one decision for each of many users: 10,000 unless
// WARDEN_BENCH_CONSENT_USERS says (the target is at 1,000,000).
// Decisions are seeded with one INSERT … SELECT from generate_series. Four
// clients ask for random users' JP status; b.N requests in all.
//
// The floor, measured in the same run and interleaved in rounds, is a
// plain net/http handler that reads the same user's decisions with the
// same indexed query and writes them as JSON: the least a consent check
// over HTTP does. p99_ratio is the API's p99 over the floor's.
func BenchmarkConsentCheck(b *testing.B) {
	users := 10_000
	if s := os.Getenv("WARDEN_BENCH_CONSENT_USERS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("WARDEN_BENCH_CONSENT_USERS=%q: a positive number of users", s)
		}
		users = n
	}
	db := sqlstoretest.Postgres(b)
	ctx := context.Background()
	cs, _ := privacyServices(b, db, nil)
	api := httpapi.New(httpapi.Options{DB: db})
	httpapi.RegisterPrivacy(api, httpapi.Privacy{Consent: cs, MFA: nil})
	srv := httptest.NewServer(api.Handler())
	b.Cleanup(srv.Close)
	key, _, err := db.CreateKey(ctx, warden.RoleApp, "bench")
	if err != nil {
		b.Fatal(err)
	}
	admin := &warden.Principal{ID: "bench-admin", Role: warden.RoleAdmin, Kind: "key"}
	// 50 versions: each kind in each region, then more of the JP terms,
	// alternately material (retention) and text-only.
	n := 0
	publish := func(kind, region, retention, text string) {
		n++
		_, err := cs.AddDocument(ctx, admin, consent.DocumentRequest{Kind: kind, Region: region, Version: strconv.Itoa(n), Text: text,
			Declares: &consent.Declarations{Purposes: []string{"service"}, DataCategories: []string{"profile"}, Recipients: []string{"host"},
				Retention: retention, Controller: "Example", Contact: "privacy@example.com"}})
		if err != nil {
			b.Fatal(err)
		}
	}
	for _, kind := range consent.Kinds {
		for _, region := range consent.Regions {
			publish(kind, region, "12 months", "Text.\n")
		}
	}
	for n < 50 {
		publish(consent.KindTerms, "JP", fmt.Sprintf("%d months", 12+n/2), fmt.Sprintf("Text %d.\n", n))
	}
	t0 := time.Now()
	// Everyone accepted the first JP terms; every third user also a later
	// version (so statuses differ).
	_, err = db.ExecContext(ctx, `INSERT INTO consent_decisions (receipt_id, user_id, document_id, document_seq, kind, region, version, body_sha256, decision, collection_method, key_id, receipt, at_us)
		SELECT 'cr_bench_' || g || '_' || d.seq, 'user' || g, d.id, d.seq, d.kind, d.region, d.version, d.body_sha256, 'accept', 'bench', 'k', 'x', 1
		FROM generate_series(1, $1::bigint) g
		JOIN policy_documents d ON d.kind = 'terms' AND d.region = 'JP' AND (d.version = '4' OR (g % 3 = 0 AND d.version = '40'))`, users)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "ANALYZE consent_decisions"); err != nil {
		b.Fatal(err)
	}
	seeded := time.Since(t0)

	floor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ds, err := db.UserConsentDecisions(r.Context(), r.URL.Query().Get("user"))
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(ds)
	}))
	b.Cleanup(floor.Close)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	// Warm both paths (the document cache, connections).
	for i := range 50 {
		u := fmt.Sprintf("user%d", i+1)
		get(b, client, srv.URL+"/v1/users/"+u+"/consent?region=JP", key)
		get(b, client, floor.URL+"/?user="+u, "")
	}
	var api99, floor99 latencyHistogram
	const rounds, clients = 4, 4
	per := max(b.N/rounds/clients, 1)
	b.ResetTimer()
	start := time.Now()
	for range rounds {
		for _, target := range []struct {
			h   *latencyHistogram
			url func(string) string
			key string
		}{
			{&api99, func(u string) string { return srv.URL + "/v1/users/" + u + "/consent?region=JP" }, key},
			{&floor99, func(u string) string { return floor.URL + "/?user=" + u }, ""},
		} {
			var wg sync.WaitGroup
			for range clients {
				wg.Go(func() {
					for range per {
						u := fmt.Sprintf("user%d", rand.IntN(users)+1)
						t := time.Now()
						get(b, client, target.url(u), target.key)
						target.h.add(time.Since(t))
					}
				})
			}
			wg.Wait()
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(2*rounds*clients*per)/elapsed.Seconds(), "req/s")
	b.ReportMetric(api99.quantile(0.50), "p50_ms")
	b.ReportMetric(api99.quantile(0.99), "p99_ms")
	b.ReportMetric(floor99.quantile(0.99), "floor_p99_ms")
	b.ReportMetric(api99.quantile(0.99)/floor99.quantile(0.99), "p99_ratio")
	b.ReportMetric(float64(users), "users")
	b.ReportMetric(seeded.Seconds(), "seed_s")
}

func get(b *testing.B, client *http.Client, url, key string) {
	req, _ := http.NewRequest("GET", url, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := client.Do(req)
	if err != nil {
		b.Error(err)
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Errorf("GET %s: %d", url, resp.StatusCode)
	}
}

// privacyServices builds consent and mfa as serve does, keys in a temp
// dir, mfa's clock from now.
func privacyServices(b *testing.B, db *sqlstore.DB, now func() time.Time) (*consent.Service, *mfa.Service) {
	dir := b.TempDir()
	box, err := sealed.OpenBox(dir, "box.key")
	if err != nil {
		b.Fatal(err)
	}
	mac, err := sealed.OpenMac(dir, "recovery.key")
	if err != nil {
		b.Fatal(err)
	}
	ring, err := consent.OpenKeyring(dir+"/receipts", box, 0)
	if err != nil {
		b.Fatal(err)
	}
	return consent.New(consent.Options{DB: db, Keys: ring}), mfa.New(mfa.Options{DB: db, Box: box, Mac: mac, Now: now})
}

// BenchmarkTwoFactorVerify is POST /v1/users/{user}/2fa/verify's work,
// mfa's Verify, through the service with the real store: each of b.N
// users, enrolled beforehand (not timed), verifies a current TOTP code
// once, from 8 goroutines; verifies/s is the rate (the target:
// 2,000/s). The floor, in the same run, is computing the same codes alone
// (mfa.Code), so code_share is the part of a verify that is the TOTP
// arithmetic rather than the store (unsealing the secret, recording the
// code as used).
func BenchmarkTwoFactorVerify(b *testing.B) {
	for _, c := range []struct {
		name string
		open func(testing.TB) *sqlstore.DB
	}{{"sqlite", sqlstoretest.SQLite}, {"postgres", sqlstoretest.Postgres}} {
		b.Run(c.name, func(b *testing.B) {
			db := c.open(b)
			var mu sync.Mutex
			clock := time.Now()
			now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
			_, ms := privacyServices(b, db, now)
			ctx := context.Background()
			secrets := make([]string, b.N)
			for i := range b.N {
				u := fmt.Sprintf("u%d", i)
				e, err := ms.Begin(ctx, u, mfa.Prompt{})
				if err != nil {
					b.Fatal(err)
				}
				code, _ := mfa.Code(e.Secret, now())
				if _, err := ms.Confirm(ctx, u, code); err != nil {
					b.Fatal(err)
				}
				secrets[i] = e.Secret
			}
			// Confirming used this period's code: verify the next period's,
			// as the app shows 30 s later.
			mu.Lock()
			clock = clock.Add(30 * time.Second)
			mu.Unlock()
			t0 := time.Now()
			codes := make([]string, b.N)
			for i, s := range secrets {
				codes[i], _ = mfa.Code(s, now())
			}
			floor := time.Since(t0)
			var next sync.Mutex
			i := 0
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					for {
						next.Lock()
						j := i
						i++
						next.Unlock()
						if j >= b.N {
							return
						}
						if m, err := ms.Verify(ctx, fmt.Sprintf("u%d", j), codes[j]); err != nil || m != "totp" {
							b.Errorf("verify u%d: %q %v", j, m, err)
							return
						}
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "verifies/s")
			b.ReportMetric(floor.Seconds()/elapsed.Seconds(), "code_share")
			// A second verify of the same code is refused (replay).
			if _, err := ms.Verify(ctx, "u0", codes[0]); err == nil {
				b.Error("a replayed code was accepted")
			}
		})
	}
}
