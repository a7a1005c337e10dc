package httpapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	wardenpkg "github.com/wardenhq/warden"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

// BenchmarkSingleEventLatency sends single-event requests over loopback HTTP
// at a fixed 2,000 requests/s (open loop: a request starts every 500µs
// whether or not earlier ones have been answered), through the built-in
// rules and detectors into the durable SQLite log, and reports latency
// percentiles. b.N is the number of requests (-benchtime 20000x is 10 s).
//
// In the same run, the same requests go to the floor: a plain net/http
// handler that decodes each event strictly and group-commits it to a file
// with fsync before answering, as any durable intake must. The two are
// interleaved in rounds of b.N/4 so that the machine's load falls on both,
// and p99_ratio is Warden's p99 over the floor's (issue 10's target: 1.2).
func BenchmarkSingleEventLatency(b *testing.B) {
	url, key := serveAPI(b, sqlstoretest.SQLite(b), servedEngine(b))
	floor := httptest.NewServer(newFsyncFloor(b))
	b.Cleanup(floor.Close)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	run := fmt.Sprintf("l%d", time.Now().UnixNano())

	const rounds = 4
	per := max(b.N/rounds, 1)
	var warden, base []time.Duration
	b.ResetTimer()
	start := time.Now()
	for r := range rounds {
		warden = append(warden, openLoop(b, client, url+"/v1/events", key, per, fmt.Sprintf("%s-w%d", run, r))...)
		base = append(base, openLoop(b, client, floor.URL, "", per, fmt.Sprintf("%s-f%d", run, r))...)
	}
	elapsed := time.Since(start)
	pct := func(lat []time.Duration, p float64) float64 {
		return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000
	}
	slices.Sort(warden)
	slices.Sort(base)
	b.ReportMetric(float64(2*per*rounds)/elapsed.Seconds(), "req/s")
	b.ReportMetric(pct(warden, 0.50), "p50_ms")
	b.ReportMetric(pct(warden, 0.99), "p99_ms")
	b.ReportMetric(pct(warden, 0.999), "p99.9_ms")
	b.ReportMetric(pct(base, 0.50), "floor_p50_ms")
	b.ReportMetric(pct(base, 0.99), "floor_p99_ms")
	b.ReportMetric(pct(warden, 0.99)/pct(base, 0.99), "p99_ratio")
}

// openLoop sends n single-event requests to url at 2,000/s and returns
// their latencies.
func openLoop(b *testing.B, client *http.Client, url, key string, n int, run string) []time.Duration {
	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	const interval = 500 * time.Microsecond
	start := time.Now()
	for i := 0; i < n; i++ {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := fmt.Sprintf(`{"id":"%s-%d","type":"follow","time":%q,"actor":"user%d","target":"user%d","ip":"198.51.100.%d","attrs":{"user_agent":"app/5.1 ios"}}`,
				run, i, time.Now().UTC().Format(time.RFC3339Nano), i%3000, (i*7)%3000, i%250)
			t0 := time.Now()
			code, err := send(client, "POST", url, key, body, io.Discard)
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
	return lat
}

// fsyncFloor is the latency floor of durable intake: decode the event as
// Warden does, append it to a file, and answer once an fsync covering it
// has returned; requests that arrive during an fsync share the next one
// (group commit).
type fsyncFloor struct {
	f       *os.File
	mu      sync.Mutex
	pending []pendingWrite
	kick    chan struct{}
}

type pendingWrite struct {
	line []byte
	done chan error
}

func newFsyncFloor(b *testing.B) *fsyncFloor {
	f, err := os.Create(filepath.Join(b.TempDir(), "floor.log"))
	if err != nil {
		b.Fatal(err)
	}
	fl := &fsyncFloor{f: f, kick: make(chan struct{}, 1)}
	stop := make(chan struct{})
	go fl.writer(stop)
	b.Cleanup(func() { close(stop); f.Close() })
	return fl
}

func (fl *fsyncFloor) writer(stop chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-fl.kick:
		}
		fl.mu.Lock()
		group := fl.pending
		fl.pending = nil
		fl.mu.Unlock()
		var buf []byte
		for _, p := range group {
			buf = append(buf, p.line...)
		}
		_, err := fl.f.Write(buf)
		if err == nil {
			err = datasync(fl.f)
		}
		for _, p := range group {
			p.done <- err
		}
	}
}

func (fl *fsyncFloor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, wardenpkg.MaxBodyBytes))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	evs, _, err := wardenpkg.DecodeEvents(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	line, _ := json.Marshal(evs)
	done := make(chan error, 1)
	fl.mu.Lock()
	fl.pending = append(fl.pending, pendingWrite{append(line, '\n'), done})
	fl.mu.Unlock()
	select {
	case fl.kick <- struct{}{}:
	default:
	}
	if err := <-done; err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"verdicts":[{"event_id":%q,"action":"allow","score":0,"hits":[]}]}`, evs[0].ID)
}
