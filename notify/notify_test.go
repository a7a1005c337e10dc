package notify

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

// queue inserts n webhook deliveries due at due.
func queue(t testing.TB, db *sqlstore.DB, n int, due warden.Micros) {
	t.Helper()
	err := db.Incidents(context.Background(), func(tx *sqlstore.IncidentTx) error {
		for i := range n {
			d := &warden.Delivery{Kind: warden.DeliveryNotification, Ref: fmt.Sprintf("N-%d", i), Channel: warden.ChannelWebhook,
				Target: "http://platform.example/hook", Payload: fmt.Sprintf(`{"n":%d}`, i), Status: warden.DeliveryPending, NextAt: due, CreatedAt: due}
			if err := tx.InsertDelivery(context.Background(), d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// receiver is the platform's endpoint: it checks each call's Standard
// Webhooks signature and counts calls per webhook-id.
type receiver struct {
	mu      sync.Mutex
	secret  string
	now     func() time.Time
	fail    int // answer 503 to this many calls first
	delay   time.Duration
	calls   map[string]int
	bodies  map[string]string
	badSigs int
}

func newReceiver(secret string) (*receiver, *httptest.Server) {
	rc := &receiver{secret: secret, now: time.Now, calls: map[string]int{}, bodies: map[string]string{}}
	return rc, httptest.NewServer(rc)
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	time.Sleep(rc.delay)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err := Verify(rc.secret, r.Header, body, rc.now(), 5*time.Minute); err != nil {
		rc.badSigs++
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	if !LegacyVerify(rc.secret, r.Header.Get("Warden-Signature"), body, rc.now(), 5*time.Minute) {
		rc.badSigs++
		http.Error(w, "legacy signature", http.StatusUnauthorized)
		return
	}
	if rc.fail > 0 {
		rc.fail--
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	id := r.Header.Get("webhook-id")
	rc.calls[id]++
	rc.bodies[id] = string(body)
}

func (rc *receiver) snapshot() (map[string]int, int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make(map[string]int, len(rc.calls))
	for k, v := range rc.calls {
		out[k] = v
	}
	return out, rc.badSigs
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestStandardWebhooksSignature(t *testing.T) {
	// The example of the Standard Webhooks specification's reference
	// libraries: secret, id, timestamp and body give this signature.
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	id, ts := "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0)
	body := []byte(`{"test": 2432232314}`)
	if got, want := Sign(secret, id, ts, body), "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
	h.Set("webhook-signature", "v1,bm90IGl0 "+Sign(secret, id, ts, body)) // one of several
	tests := []struct {
		name   string
		secret string
		body   []byte
		at     time.Time
		mod    func(http.Header)
		ok     bool
	}{
		{"valid", secret, body, ts, nil, true},
		{"within tolerance", secret, body, ts.Add(4 * time.Minute), nil, true},
		{"replayed later", secret, body, ts.Add(10 * time.Minute), nil, false},
		{"from the future", secret, body, ts.Add(-10 * time.Minute), nil, false},
		{"wrong secret", "whsec_b3RoZXI=", body, ts, nil, false},
		{"tampered body", secret, []byte(`{"test": 1}`), ts, nil, false},
		{"other id", secret, body, ts, func(h http.Header) { h.Set("webhook-id", "msg_2") }, false},
		{"no signature", secret, body, ts, func(h http.Header) { h.Del("webhook-signature") }, false},
		{"bad timestamp", secret, body, ts, func(h http.Header) { h.Set("webhook-timestamp", "soon") }, false},
	}
	for _, tc := range tests {
		hh := h.Clone()
		if tc.mod != nil {
			tc.mod(hh)
		}
		if err := Verify(tc.secret, hh, tc.body, tc.at, 5*time.Minute); (err == nil) != tc.ok {
			t.Errorf("%s: Verify = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestLegacySignAndVerify(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"type":"notification"}`)
	h := LegacySign("s3cret", now, body)
	if !LegacyVerify("s3cret", h, body, now.Add(4*time.Minute), 5*time.Minute) {
		t.Fatal("valid header refused")
	}
	for name, ok := range map[string]bool{
		"later":  LegacyVerify("s3cret", h, body, now.Add(10*time.Minute), 5*time.Minute),
		"secret": LegacyVerify("other", h, body, now, 5*time.Minute),
		"body":   LegacyVerify("s3cret", h, []byte(`{}`), now, 5*time.Minute),
		"header": LegacyVerify("s3cret", "v1=abc", body, now, 5*time.Minute),
	} {
		if ok {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestBackoffGrowsAndIsCapped(t *testing.T) {
	prev := time.Duration(0)
	for a := 1; a <= 30; a++ {
		d := Backoff(a)
		lo := min(firstBackoff<<min(a-1, 20), maxBackoff) / 2
		if d < lo || d > maxBackoff {
			t.Fatalf("Backoff(%d) = %v, want in [%v, %v]", a, d, lo, maxBackoff)
		}
		if a > 1 && a < 12 && d < prev/2 {
			t.Fatalf("Backoff(%d) = %v shrank from %v", a, d, prev)
		}
		prev = d
	}
}

// The endpoint fails twice, then accepts: each delivery arrives once,
// signed, after retries with backoff; the first failure is logged at once.
func TestRetriesThenDelivers(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		clk := &clock{t: time.Unix(1_800_000_000, 0)}
		rc, srv := newReceiver("whsec_c2VjcmV0")
		defer srv.Close()
		rc.now, rc.fail = clk.Now, 2
		var logs strings.Builder
		w := New(Options{Outbox: db, Webhook: &Webhook{URL: srv.URL, Secret: "whsec_c2VjcmV0", Now: clk.Now}, Now: clk.Now, Logger: textLogger(&logs)})
		queue(t, db, 1, warden.MicrosOf(clk.Now()))
		ctx := context.Background()
		n, err := w.DeliverDue(ctx)
		if err != nil || n != 0 {
			t.Fatalf("first pass delivered %d, %v", n, err)
		}
		if !strings.Contains(logs.String(), "delivery failed; retrying") {
			t.Fatalf("no warning on the first failure: %q", logs.String())
		}
		for range 4 {
			if _, err := w.DeliverDue(ctx); err != nil {
				t.Fatal(err)
			}
			clk.Advance(time.Minute)
		}
		calls, bad := rc.snapshot()
		if bad != 0 || len(calls) != 1 || calls["msg_1"] != 1 {
			t.Fatalf("calls = %v, bad signatures %d", calls, bad)
		}
		if strings.Count(logs.String(), "delivery failed; retrying") != 1 {
			t.Fatalf("the warning repeats: %q", logs.String())
		}
		pending, dead, err := db.OutboxDepth(ctx)
		if err != nil || pending != 0 || dead != 0 {
			t.Fatalf("outbox depth %d pending, %d dead, %v", pending, dead, err)
		}
	})
}

func TestDeadLettersAfterMaxAttempts(t *testing.T) {
	db := sqlstoretest.SQLite(t)
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	rc, srv := newReceiver("k")
	defer srv.Close()
	rc.now, rc.fail = clk.Now, 1_000
	w := New(Options{Outbox: db, Webhook: &Webhook{URL: srv.URL, Secret: "k", Now: clk.Now}, Now: clk.Now})
	queue(t, db, 1, warden.MicrosOf(clk.Now()))
	ctx := context.Background()
	for range MaxAttempts + 2 {
		if _, err := w.DeliverDue(ctx); err != nil {
			t.Fatal(err)
		}
		clk.Advance(2 * time.Hour) // past the longest backoff
	}
	dead, err := db.Deliveries(ctx, warden.DeliveryDead, 10)
	if err != nil || len(dead) != 1 || dead[0].Attempts != MaxAttempts || !strings.Contains(dead[0].LastError, "503") {
		t.Fatalf("dead letters = %+v, %v", dead, err)
	}
	rc.mu.Lock()
	rc.fail = 0
	rc.mu.Unlock()
	if ok, err := db.RetryDelivery(ctx, dead[0].Seq, warden.MicrosOf(clk.Now())); err != nil || !ok {
		t.Fatalf("retry: %v %v", ok, err)
	}
	if n, err := w.DeliverDue(ctx); err != nil || n != 1 {
		t.Fatalf("after retry delivered %d, %v", n, err)
	}
}

// A delivery is not sent before it is due (a restriction.lifted waits for
// the end of the restriction's term).
func TestScheduledDeliveryWaits(t *testing.T) {
	db := sqlstoretest.SQLite(t)
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	rc, srv := newReceiver("k")
	defer srv.Close()
	rc.now = clk.Now
	w := New(Options{Outbox: db, Webhook: &Webhook{URL: srv.URL, Secret: "k", Now: clk.Now}, Now: clk.Now})
	queue(t, db, 1, warden.MicrosOf(clk.Now().Add(time.Hour)))
	if n, _ := w.DeliverDue(context.Background()); n != 0 {
		t.Fatalf("sent %d an hour early", n)
	}
	clk.Advance(time.Hour)
	if n, err := w.DeliverDue(context.Background()); n != 1 || err != nil {
		t.Fatalf("sent %d when due, %v", n, err)
	}
}

// A claim holds: a second worker does not take a leased row until the
// lease runs out, and the first worker's late outcome is then refused.
func TestLeaseHoldsUntilItRunsOut(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		now := warden.MicrosOf(time.Unix(1_800_000_000, 0))
		queue(t, db, 3, now)
		a, err := db.ClaimDeliveries(ctx, "a", now, now+60e6, 10)
		if err != nil || len(a) != 3 {
			t.Fatalf("a claimed %d, %v", len(a), err)
		}
		if b, err := db.ClaimDeliveries(ctx, "b", now+30e6, now+90e6, 10); err != nil || len(b) != 0 {
			t.Fatalf("b claimed %d rows a holds, %v", len(b), err)
		}
		b, err := db.ClaimDeliveries(ctx, "b", now+61e6, now+121e6, 10)
		if err != nil || len(b) != 3 {
			t.Fatalf("b claimed %d after a's lease ran out, %v", len(b), err)
		}
		a[0].Status, a[0].Attempts = warden.DeliveryDelivered, 1
		if ok, err := db.SettleDelivery(ctx, &a[0], "a"); err != nil || ok {
			t.Fatalf("a settled a row it no longer holds: %v %v", ok, err)
		}
		b[0].Status, b[0].Attempts = warden.DeliveryDelivered, 1
		if ok, err := db.SettleDelivery(ctx, &b[0], "b"); err != nil || !ok {
			t.Fatalf("b could not settle: %v %v", ok, err)
		}
	})
}

// Two processes drain one outbox side by side: every delivery reaches the
// platform exactly once, and both processes take part.
func TestTwoProcessesSendEachOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		const n = 200
		rc, srv := newReceiver("whsec_dHdvIHByb2Nlc3Nlcw==")
		defer srv.Close()
		rc.delay = 3 * time.Millisecond
		queue(t, db, n, warden.MicrosOf(time.Now()))
		url := sqlstoretest.URL(t, db)
		start := time.Now().Add(time.Second) // both begin together
		type result struct {
			out string
			err error
		}
		res := make(chan result, 2)
		for i := range 2 {
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWorkerProcess$")
			cmd.Env = append(os.Environ(), "WARDEN_HELPER_WORKER=1", "WARDEN_HELPER_DB="+url, "WARDEN_HELPER_HOOK="+srv.URL,
				"WARDEN_HELPER_SECRET=whsec_dHdvIHByb2Nlc3Nlcw==", fmt.Sprintf("WARDEN_HELPER_START=%d", start.UnixNano()),
				fmt.Sprintf("WARDEN_HELPER_OWNER=p%d", i))
			go func() {
				out, err := cmd.CombinedOutput()
				res <- result{string(out), err}
			}()
		}
		var sent []int
		for range 2 {
			r := <-res
			if r.err != nil {
				t.Fatalf("worker process: %v\n%s", r.err, r.out)
			}
			var k int
			if _, err := fmt.Sscanf(r.out[strings.Index(r.out, "delivered "):], "delivered %d", &k); err != nil {
				t.Fatalf("worker output %q", r.out)
			}
			sent = append(sent, k)
		}
		calls, bad := rc.snapshot()
		if bad != 0 || len(calls) != n {
			t.Fatalf("%d distinct deliveries arrived (bad signatures %d), want %d", len(calls), bad, n)
		}
		for id, c := range calls {
			if c != 1 {
				t.Fatalf("%s arrived %d times", id, c)
			}
		}
		if sent[0]+sent[1] != n || sent[0] == 0 || sent[1] == 0 {
			t.Fatalf("processes delivered %v, want both to share %d", sent, n)
		}
		t.Logf("processes delivered %v", sent)
	})
}

// TestHelperWorkerProcess is the child of TestTwoProcessesSendEachOnce.
func TestHelperWorkerProcess(t *testing.T) {
	if os.Getenv("WARDEN_HELPER_WORKER") != "1" {
		t.Skip("run by TestTwoProcessesSendEachOnce")
	}
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, os.Getenv("WARDEN_HELPER_DB"), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	w := New(Options{Outbox: db, Webhook: &Webhook{URL: os.Getenv("WARDEN_HELPER_HOOK"), Secret: os.Getenv("WARDEN_HELPER_SECRET")},
		Owner: os.Getenv("WARDEN_HELPER_OWNER"), Batch: 5})
	at, _ := strconv.ParseInt(os.Getenv("WARDEN_HELPER_START"), 10, 64)
	time.Sleep(time.Until(time.Unix(0, at)))
	total := 0
	for {
		k, err := w.DeliverDue(ctx)
		if err != nil {
			t.Fatal(err)
		}
		total += k
		if pending, _, err := db.OutboxDepth(ctx); err != nil || pending == 0 {
			break
		}
		time.Sleep(5 * time.Millisecond) // rows the other process holds
	}
	fmt.Printf("delivered %d\n", total)
}
