package incident

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

func TestSignAndVerify(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"type":"notification"}`)
	h := Sign("s3cret", now, body)
	tests := []struct {
		name   string
		secret string
		header string
		body   []byte
		at     time.Time
		want   bool
	}{
		{"valid", "s3cret", h, body, now, true},
		{"within tolerance", "s3cret", h, body, now.Add(4 * time.Minute), true},
		{"replayed later", "s3cret", h, body, now.Add(10 * time.Minute), false},
		{"wrong secret", "other", h, body, now, false},
		{"tampered body", "s3cret", h, []byte(`{"type":"x"}`), now, false},
		{"garbage header", "s3cret", "v1=abc", body, now, false},
	}
	for _, tc := range tests {
		if got := Verify(tc.secret, tc.header, tc.body, tc.at, 5*time.Minute); got != tc.want {
			t.Errorf("%s: Verify = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// The platform's endpoint fails twice, then accepts: every notification
// arrives once, signed, after retries with backoff.
func TestWebhookRetriesThenDelivers(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		clk := newClock()
		var mu sync.Mutex
		failures := 2
		var got []warden.Notification
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			if !Verify("whsec", r.Header.Get("Warden-Signature"), body, clk.Now(), time.Minute) {
				http.Error(w, "bad signature", http.StatusUnauthorized)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if failures > 0 {
				failures--
				http.Error(w, "down", http.StatusServiceUnavailable)
				return
			}
			var p webhookPayload
			json.Unmarshal(body, &p)
			got = append(got, *p.Notification)
		}))
		defer srv.Close()
		s := newTestService(t, db, clk, func(o *Options) { o.Webhook = Webhook{URL: srv.URL, Secret: "whsec"} })
		ctx := context.Background()
		mustReport(t, s, app, report("u1", warden.TargetAccount, "s1", warden.CategoryScam))

		for i := 0; i < 5; i++ {
			if _, err := s.DeliverDue(ctx); err != nil {
				t.Fatal(err)
			}
			clk.Advance(time.Minute) // past any backoff below a minute
		}
		if len(got) != 1 || got[0].Kind != warden.NoticeReceipt || got[0].UserID != "u1" {
			t.Fatalf("webhook got %s", dump(got))
		}
		dead, _ := s.DeadLetters(ctx, 10)
		if len(dead) != 0 {
			t.Fatalf("dead letters = %v", dead)
		}
	})
}

func TestWebhookDeadLettersAndRetry(t *testing.T) {
	db := sqlstoretest.SQLite(t)
	clk := newClock()
	up := false
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if !up {
			http.Error(w, "down", 500)
		}
	}))
	defer srv.Close()
	s := newTestService(t, db, clk, func(o *Options) { o.Webhook = Webhook{URL: srv.URL, Secret: "k"} })
	ctx := context.Background()
	mustReport(t, s, app, report("u1", warden.TargetAccount, "s1", warden.CategoryScam))
	for range MaxAttempts {
		if _, err := s.DeliverDue(ctx); err != nil {
			t.Fatal(err)
		}
		clk.Advance(2 * time.Hour) // past the longest backoff
	}
	dead, err := s.DeadLetters(ctx, 10)
	if err != nil || len(dead) != 1 || dead[0].Attempts != MaxAttempts || !strings.Contains(dead[0].LastError, "500") {
		t.Fatalf("dead letters = %+v, %v", dead, err)
	}
	mu.Lock()
	up = true
	mu.Unlock()
	if err := s.RetryDelivery(ctx, dead[0].Seq); err != nil {
		t.Fatal(err)
	}
	if n, err := s.DeliverDue(ctx); err != nil || n != 1 {
		t.Fatalf("after retry delivered %d, %v", n, err)
	}
	wantCode(t, s.RetryDelivery(ctx, dead[0].Seq), warden.ENOTFOUND)
}

func TestBackoffGrowsAndIsCapped(t *testing.T) {
	prev := time.Duration(0)
	for a := 1; a <= 30; a++ {
		d := backoff(a)
		lo := min(firstBackoff<<min(a-1, 20), maxBackoff) / 2
		if d < lo || d > maxBackoff {
			t.Fatalf("backoff(%d) = %v, want in [%v, %v]", a, d, lo, maxBackoff)
		}
		if a > 1 && a < 12 && d < prev/2 {
			t.Fatalf("backoff(%d) = %v shrank from %v", a, d, prev)
		}
		prev = d
	}
}

// fakeSMTP accepts one connection at a time and records each message.
func fakeSMTP(t *testing.T) (addr string, msgs chan string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	msgs = make(chan string, 10)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				rd := bufio.NewReader(c)
				say := func(s string) { c.Write([]byte(s + "\r\n")) }
				say("220 fake ESMTP")
				var data strings.Builder
				inData := false
				for {
					line, err := rd.ReadString('\n')
					if err != nil {
						return
					}
					if inData {
						if line == ".\r\n" {
							inData = false
							msgs <- data.String()
							say("250 OK")
							continue
						}
						data.WriteString(line)
						continue
					}
					switch cmd := strings.ToUpper(strings.TrimSpace(line)); {
					case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
						say("250 fake")
					case cmd == "DATA":
						inData = true
						say("354 go on")
					case cmd == "QUIT":
						say("221 bye")
						return
					default:
						say("250 OK")
					}
				}
			}()
		}
	}()
	return ln.Addr().String(), msgs
}

func TestEmailGoesToReportersWhoGaveAnAddress(t *testing.T) {
	db := sqlstoretest.SQLite(t)
	addr, msgs := fakeSMTP(t)
	s := newTestService(t, db, newClock(), func(o *Options) { o.SMTP = SMTP{Addr: addr, From: "trust@example.com"} })
	ctx := context.Background()
	req := report("u1", warden.TargetAccount, "s1", warden.CategoryScam)
	req.Email = "u1@example.org"
	mustReport(t, s, app, req)
	mustReport(t, s, app, report("u2", warden.TargetAccount, "s1", warden.CategoryScam)) // no address: inbox only
	if n, err := s.DeliverDue(ctx); err != nil || n != 1 {
		t.Fatalf("delivered %d, %v; want the one e-mail", n, err)
	}
	select {
	case m := <-msgs:
		if !strings.Contains(m, "To: u1@example.org") || !strings.Contains(m, "Subject: We received your report") {
			t.Fatalf("mail = %q", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no mail arrived")
	}
}
