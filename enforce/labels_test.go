package enforce

import (
	"fmt"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/engine"
)

func TestLabelsFromEffects(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	l := NewLabels(100)
	l.now = func() time.Time { return now }
	ev := &warden.Event{ID: "e1", Time: now}
	l.Apply(ev, []engine.Effect{
		{Kind: "label", Mode: warden.ModeEnforce, Entity: "u1", Label: "signup_burst", TTL: time.Hour},
		{Kind: "label", Mode: warden.ModeShadow, Entity: "u2", Label: "signup_burst", TTL: time.Hour},
		{Kind: "label", Mode: warden.ModeEnforce, Entity: "u3", Label: "possibly_compromised"},
	})
	tests := []struct {
		entity, label string
		at            time.Time
		want          bool
	}{
		{"u1", "signup_burst", now, true},
		{"u1", "signup_burst", now.Add(59 * time.Minute), true},
		{"u1", "signup_burst", now.Add(time.Hour), false},
		{"u1", "other", now, false},
		{"u2", "signup_burst", now, false}, // a shadow rule labels nothing
		{"u3", "possibly_compromised", now.Add(1000 * time.Hour), true},
	}
	for _, tt := range tests {
		l.now = func() time.Time { return tt.at }
		if got := l.Has(tt.entity, tt.label); got != tt.want {
			t.Errorf("Has(%s, %s) at +%v = %v, want %v", tt.entity, tt.label, tt.at.Sub(now), got, tt.want)
		}
	}
}

func TestLabelsStayBounded(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	l := NewLabels(50)
	l.now = func() time.Time { return now }
	for i := 0; i < 1000; i++ {
		ev := &warden.Event{Time: now.Add(time.Duration(i) * time.Second)}
		l.Apply(ev, []engine.Effect{{Kind: "label", Mode: warden.ModeEnforce, Entity: fmt.Sprint("u", i), Label: "x", TTL: time.Hour}})
	}
	if n := len(l.m); n > 50 {
		t.Fatalf("%d entities held, want at most 50", n)
	}
	if !l.Has("u999", "x") {
		t.Fatal("the newest label was evicted")
	}
}

func TestUnion(t *testing.T) {
	a, b := NewLabels(10), NewLabels(10)
	now := time.Now()
	b.Apply(&warden.Event{Time: now}, []engine.Effect{{Kind: "label", Mode: warden.ModeEnforce, Entity: "u", Label: "verified"}})
	u := Union{a, nil, b}
	if !u.Has("u", "verified") || u.Has("u", "banned") {
		t.Fatal("union does not answer from its members")
	}
}
