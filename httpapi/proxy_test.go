package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/wardenhq/warden/internal/httpx"
)

// TestRateLimitPerClientBehindProxy checks that clients behind a trusted
// proxy get a rate limit each, not one shared by all of them.
func TestRateLimitPerClientBehindProxy(t *testing.T) {
	trusted, _ := httpx.ParseProxies("10.0.0.0/8")
	s := New(Options{PublicRate: 1, TrustedProxies: trusted})
	get := func(client string) int {
		r := httptest.NewRequest("GET", "/openapi.json", nil)
		r.RemoteAddr = "10.0.0.5:4000"
		r.Header.Set("X-Forwarded-For", client)
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, r)
		return w.Code
	}
	limited := false
	for range 10 {
		if get("203.0.113.9") == http.StatusTooManyRequests {
			limited = true
			break
		}
	}
	if !limited {
		t.Fatal("one client was never limited")
	}
	if code := get("198.51.100.20"); code != http.StatusOK {
		t.Fatalf("another client behind the same proxy got %d", code)
	}
}
