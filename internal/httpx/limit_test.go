package httpx

import (
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	l := NewLimiter(1, 2, 2) // one a second, bursts of two, two keys kept
	l.now = func() time.Time { return now }
	steps := []struct {
		advance time.Duration
		key     string
		want    bool
	}{
		{0, "a", true},
		{0, "a", true},
		{0, "a", false}, // the burst is spent
		{0, "b", true},  // another key has its own bucket
		{time.Second, "a", true},
		{0, "a", false},
		{10 * time.Second, "c", true}, // a third key sweeps the refilled ones
		{0, "c", true},
		{0, "c", false},
	}
	for i, s := range steps {
		now = now.Add(s.advance)
		if got := l.Allow(s.key); got != s.want {
			t.Fatalf("step %d (%s): Allow = %v, want %v", i, s.key, got, s.want)
		}
	}
	if len(l.b) > 2 {
		t.Fatalf("%d keys kept, want at most 2", len(l.b))
	}
}
