package httpapi_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

const benchBatch = 1000

func benchBody(run string, b, n int) []byte {
	var sb strings.Builder
	sb.WriteString(`{"events":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"id":"%s-%d-%d","type":"follow","time":"2026-11-22T10:00:%02dZ","actor":"user%d","target":"user%d","target_kind":"account","ip":"203.0.%d.%d","device":"dev%d","country":"JP","attrs":{"user_agent":"app/5.1 ios","age_days":%d}}`,
			run, b, i, i%60, i%5000, (i*7)%5000, i%250, i%200, i%3000, i%400)
	}
	sb.WriteString(`]}`)
	return []byte(sb.String())
}

// BenchmarkIngest measures events/s for batches of 1,000 events: decoding
// alone, and the whole path over loopback HTTP into a durable SQLite log
// (synchronous=FULL, group commit), with 4 to 16 concurrent clients (a
// platform's backend sends from many workers; the log commits what arrives
// together in one transaction). Compare the figures of one run.
func BenchmarkIngest(b *testing.B) {
	bodies := make([][]byte, 64)
	for i := range bodies {
		bodies[i] = benchBody("d", i, benchBatch)
	}
	b.Run("decode-only", func(b *testing.B) {
		b.SetBytes(int64(len(bodies[0])))
		for i := 0; i < b.N; i++ {
			if _, _, err := warden.DecodeEvents(bodies[i%len(bodies)]); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "events/s")
	})
	for _, clients := range []int{4, 8, 16} {
		b.Run(fmt.Sprintf("http-sqlite-durable/clients=%d", clients), func(b *testing.B) { benchHTTP(b, sqlstoretest.SQLite(b), warden.AllowAll{}, clients) })
		b.Run(fmt.Sprintf("http-postgres-durable/clients=%d", clients), func(b *testing.B) { benchHTTP(b, sqlstoretest.Postgres(b), warden.AllowAll{}, clients) })
	}
	// As warden serve runs: the built-in rule pack and the detectors.
	b.Run("http-sqlite-durable-rules+detectors/clients=16", func(b *testing.B) {
		benchHTTP(b, sqlstoretest.SQLite(b), servedEngine(b), 16)
	})
}

var benchRun atomic.Int64

func benchHTTP(b *testing.B, db *sqlstore.DB, eng warden.Engine, clients int) {
	url, secret := serveAPI(b, db, eng)
	run := fmt.Sprintf("r%d", benchRun.Add(1))
	bodies := make([][]byte, b.N)
	for i := range bodies {
		bodies[i] = benchBody(run, i, benchBatch)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	// The floor, in the same run: decoding the same bodies alone, on one
	// goroutine, before and after the intake (the machine's load changes).
	before := decodeRate(b, bodies)
	b.SetBytes(int64(len(bodies[0])))
	b.ResetTimer()
	postConcurrently(b, client, url+"/v1/events", secret, clients, b.N, 200, func(i int) string { return string(bodies[i]) })
	b.StopTimer()
	rate := float64(b.N*benchBatch) / b.Elapsed().Seconds()
	floor := (before + decodeRate(b, bodies)) / 2
	b.ReportMetric(rate, "events/s")
	b.ReportMetric(floor, "decode_events/s")
	b.ReportMetric(rate/floor, "decode_ratio")
}

// decodeRate decodes bodies (batches of benchBatch events) and returns
// events/s.
func decodeRate(b *testing.B, bodies [][]byte) float64 {
	start := time.Now()
	for _, body := range bodies {
		if _, _, err := warden.DecodeEvents(body); err != nil {
			b.Fatal(err)
		}
	}
	return float64(len(bodies)*benchBatch) / time.Since(start).Seconds()
}

// postConcurrently sends n POST requests to url from clients goroutines,
// body(i) being the i-th, and fails b on any transport error or a status
// other than want.
func postConcurrently(b *testing.B, client *http.Client, url, key string, clients, n, want int, body func(i int) string) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				code, err := send(client, "POST", url, key, body(i), io.Discard)
				if err != nil {
					b.Error(err)
					return
				}
				if code != want {
					b.Errorf("status %d, want %d", code, want)
					return
				}
			}
		}()
	}
	wg.Wait()
}
