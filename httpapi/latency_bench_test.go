package httpapi_test

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

// BenchmarkSingleEventLatency sends single-event requests over loopback HTTP
// at a fixed 2,000 requests/s (open loop: a request starts every 500µs
// whether or not earlier ones have been answered), through the built-in
// rules and detectors into the durable SQLite log, and reports latency
// percentiles. b.N is the number of requests (-benchtime 20000x is 10 s).
func BenchmarkSingleEventLatency(b *testing.B) {
	url, key := serveAPI(b, sqlstoretest.SQLite(b), servedEngine(b))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	run := fmt.Sprintf("l%d", time.Now().UnixNano())

	lat := make([]time.Duration, b.N)
	var wg sync.WaitGroup
	const interval = 500 * time.Microsecond
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := fmt.Sprintf(`{"id":"%s-%d","type":"follow","time":%q,"actor":"user%d","target":"user%d","ip":"198.51.100.%d","attrs":{"user_agent":"app/5.1 ios"}}`,
				run, i, time.Now().UTC().Format(time.RFC3339Nano), i%3000, (i*7)%3000, i%250)
			t0 := time.Now()
			code, err := send(client, "POST", url+"/v1/events", key, body, io.Discard)
			if err != nil {
				b.Error(err)
				return
			}
			lat[i] = time.Since(t0)
			if code != 200 {
				b.Errorf("status %d", code)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(pct(0.50), "p50_ms")
	b.ReportMetric(pct(0.99), "p99_ms")
	b.ReportMetric(pct(0.999), "p99.9_ms")
}
