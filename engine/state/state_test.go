package state

import (
	"bytes"
	"math"
	"runtime"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC)

type step struct {
	after time.Duration // since t0
	value uint64
	want  float64
}

func TestCounters(t *testing.T) {
	tests := []struct {
		name  string
		spec  Spec
		steps []step
	}{
		{"count within window", Spec{Kind: Count, Window: time.Minute}, []step{
			{0, 0, 1}, {10 * time.Second, 0, 2}, {50 * time.Second, 0, 3}}},
		{"count forgets old events", Spec{Kind: Count, Window: time.Minute}, []step{
			{0, 0, 1}, {time.Second, 0, 2}, {2 * time.Minute, 0, 1}, {2*time.Minute + time.Second, 0, 2}}},
		{"count expires after a long gap", Spec{Kind: Count, Window: time.Minute}, []step{
			{0, 0, 1}, {48 * time.Hour, 0, 1}}},
		{"distinct counts each value once", Spec{Kind: Distinct, Window: time.Hour}, []step{
			{0, 1, 1}, {time.Second, 1, 1}, {2 * time.Second, 2, 2}, {3 * time.Second, 3, 3}, {4 * time.Second, 2, 3}}},
		{"distinct forgets values outside the window", Spec{Kind: Distinct, Window: time.Minute}, []step{
			{0, 1, 1}, {30 * time.Second, 2, 2}, {80 * time.Second, 3, 2}}},
		{"rate drains at its limit", Spec{Kind: Rate, Window: time.Minute, Limit: 60}, []step{
			{0, 0, 1}, {0, 0, 2}, {0, 0, 3}, {2 * time.Second, 0, 2}, {10 * time.Second, 0, 1}}},
		{"last k spans the last k events", Spec{Kind: LastK, Window: time.Hour, K: 3}, []step{
			{0, 0, math.Inf(1)}, {10 * time.Second, 0, math.Inf(1)}, {30 * time.Second, 0, 30}, {40 * time.Second, 0, 30}}},
		{"last k beyond its window is infinite", Spec{Kind: LastK, Window: time.Minute, K: 2}, []step{
			{0, 0, math.Inf(1)}, {2 * time.Minute, 0, math.Inf(1)}, {2*time.Minute + 5*time.Second, 0, 5}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New()
			for i, st := range tt.steps {
				at := t0.Add(st.after)
				peek := s.Observe(&tt.spec, 42, at, true, st.value, false)
				got := s.Observe(&tt.spec, 42, at, true, st.value, true)
				if got != st.want || peek != got {
					t.Fatalf("step %d: value %v (peek %v), want %v", i, got, peek, st.want)
				}
			}
		})
	}
}

func TestDistinctMovesToSketchesAndStaysClose(t *testing.T) {
	s := New()
	spec := Spec{Kind: Distinct, Window: time.Hour}
	var got float64
	for i := 0; i < 500; i++ {
		got = s.Observe(&spec, 7, t0.Add(time.Duration(i)*time.Second), true, Mix(uint64(i)), true)
		if i < ExactDistinct && got != float64(i+1) {
			t.Fatalf("after %d values the exact count is %v", i+1, got)
		}
	}
	if math.Abs(got-500) > 25 { // within 5%: the sketches have 1,024 registers
		t.Fatalf("500 distinct values estimated as %v", got)
	}
	// Two hours later the sketches hold nothing in the window.
	if got := s.Observe(&spec, 7, t0.Add(3*time.Hour), false, 0, false); got != 0 {
		t.Fatalf("after the window the count is %v", got)
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	s := New()
	specs := []Spec{{Kind: Count, Window: time.Hour}, {Kind: Distinct, Window: time.Hour},
		{Kind: Rate, Window: time.Minute, Limit: 10}, {Kind: LastK, Window: time.Hour, K: 4}}
	for i := 0; i < 300; i++ {
		for j := range specs {
			s.Observe(&specs[j], uint64(j)<<60|uint64(i%37), t0.Add(time.Duration(i)*time.Second), true, Mix(uint64(i)), true)
		}
	}
	var buf bytes.Buffer
	if _, err := s.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	r := New()
	if _, err := r.ReadFrom(&buf); err != nil {
		t.Fatal(err)
	}
	if r.Keys() != s.Keys() {
		t.Fatalf("restored %d keys, want %d", r.Keys(), s.Keys())
	}
	at := t0.Add(301 * time.Second)
	for j := range specs {
		for k := 0; k < 37; k++ {
			key := uint64(j)<<60 | uint64(k)
			if a, b := s.Observe(&specs[j], key, at, false, 0, false), r.Observe(&specs[j], key, at, false, 0, false); a != b {
				t.Fatalf("%v key %d: restored %v, original %v", specs[j].Kind, k, b, a)
			}
		}
	}
	if _, err := New().ReadFrom(bytes.NewReader([]byte("garbage"))); err == nil {
		t.Fatal("reading garbage succeeded")
	}
}

func TestSweepDropsExpiredKeys(t *testing.T) {
	s := New()
	spec := Spec{Kind: Count, Window: time.Minute}
	for i := 0; i < 1000; i++ {
		s.Observe(&spec, Mix(uint64(i)), t0, true, 0, true)
	}
	if n := s.Sweep(t0.Add(30*time.Second), time.Hour); n != 0 {
		t.Fatalf("swept %d live keys", n)
	}
	if n := s.Sweep(t0.Add(2*time.Minute), time.Hour); n != 1000 || s.Keys() != 0 {
		t.Fatalf("swept %d, %d left", n, s.Keys())
	}
}

func TestBytesPerKey(t *testing.T) {
	const n = 200000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s := New()
	specs := []Spec{{Kind: Count, Window: time.Hour}, {Kind: Distinct, Window: time.Hour}}
	for i := 0; i < n; i++ {
		sp := &specs[i%2]
		s.Observe(sp, Mix(uint64(i)), t0, true, uint64(i), true)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / float64(s.Keys())
	t.Logf("%.1f bytes per counter key", per)
	if per > 128 {
		t.Errorf("%.1f bytes per counter key, more than 128", per)
	}
	runtime.KeepAlive(s)
}

func BenchmarkObserveCount(b *testing.B) {
	s := New()
	spec := Spec{Kind: Count, Window: time.Hour}
	i := 0
	for b.Loop() {
		s.Observe(&spec, Mix(uint64(i%100000)), t0.Add(time.Duration(i)*time.Millisecond), true, 0, true)
		i++
	}
}

func BenchmarkObserveDistinct(b *testing.B) {
	s := New()
	spec := Spec{Kind: Distinct, Window: time.Hour}
	i := 0
	for b.Loop() {
		s.Observe(&spec, Mix(uint64(i%1000)), t0.Add(time.Duration(i)*time.Millisecond), true, Mix(uint64(i)), true)
		i++
	}
}

func TestDistinctDoesNotRecountValuesAfterMovingToSketches(t *testing.T) {
	s := New()
	spec := Spec{Kind: Distinct, Window: time.Hour}
	var got float64
	// Twelve values, seen over and over: the count must stay near 12.
	for i := 0; i < 240; i++ {
		got = s.Observe(&spec, 9, t0.Add(time.Duration(i)*time.Second), true, Mix(uint64(i%12)), true)
	}
	if got < 11 || got > 13 {
		t.Fatalf("12 values seen 20 times each counted as %v", got)
	}
}
