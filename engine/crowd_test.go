package engine

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/detect"
	"github.com/wardenhq/warden/rules"
)

// TestCrowdRoundTripsEveryField sets every field of Crowd, through
// reflection, and checks the binary form keeps it: a field added to
// detect.Features and not encoded fails here.
func TestCrowdRoundTripsEveryField(t *testing.T) {
	var c Crowd
	c.Counters = []float64{0, 1, 2.5, -3, 1e300}
	f := reflect.ValueOf(&c.Features).Elem()
	for i := 0; i < f.NumField(); i++ {
		switch fv := f.Field(i); fv.Kind() {
		case reflect.Float64:
			fv.SetFloat(float64(i) + 0.25)
		case reflect.Int:
			fv.SetInt(int64(i) + 1)
		case reflect.Bool:
			fv.SetBool(true)
		case reflect.Slice:
			fv.Set(reflect.ValueOf([]string{"followers_count low", "posts in bursts"}))
		default:
			t.Fatalf("detect.Features.%s is a %s: teach Crowd's encoding about it", f.Type().Field(i).Name, fv.Kind())
		}
	}
	b, err := c.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var got Crowd
	if err := got.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(c, got); d != "" {
		t.Fatalf("round trip changed the record (-want +got):\n%s", d)
	}
	for n := range b {
		var x Crowd
		if err := x.UnmarshalBinary(b[:n]); err == nil {
			t.Fatalf("a record cut to %d of %d bytes decoded", n, len(b))
		}
	}
	if err := got.UnmarshalBinary(append(b, 0)); err == nil || !strings.Contains(err.Error(), "trailing") {
		t.Fatalf("trailing byte: %v", err)
	}
}

func FuzzCrowdDecode(f *testing.F) {
	c := Crowd{Counters: []float64{1, 2}, Features: detect.Features{BotReasons: []string{"x"}, LockstepGroup: 3}}
	b, _ := c.MarshalBinary()
	f.Add(b)
	f.Add([]byte{1, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		before := Crowd{Counters: []float64{7}}
		x := before
		if err := x.UnmarshalBinary(b); err != nil {
			if !reflect.DeepEqual(x, before) {
				t.Fatal("a failed decode changed the record")
			}
			return
		}
		again, err := x.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var y Crowd
		if err := y.UnmarshalBinary(again); err != nil {
			t.Fatalf("re-encoding did not decode: %v", err)
		}
		// NaN never equals itself: compare the encodings.
		third, _ := y.MarshalBinary()
		if string(third) != string(again) {
			t.Fatal("decode and encode do not agree")
		}
	})
}

// TestCrowdSplitGivesOneEnginesVerdicts runs the built-in pack two ways
// over a crowd of accounts: one engine, and a crowd engine feeding two
// engines split by actor. The verdicts must be the same.
func TestCrowdSplitGivesOneEnginesVerdicts(t *testing.T) {
	one, err := Open(Options{Detectors: detect.New(detect.Config{HashSeed: 3}), Budget: -1})
	if err != nil {
		t.Fatal(err)
	}
	crowd, err := Open(Options{Detectors: detect.New(detect.Config{HashSeed: 3}), Budget: -1})
	if err != nil {
		t.Fatal(err)
	}
	parts := make([]*Engine, 2)
	for i := range parts {
		if parts[i], err = Open(Options{Budget: -1}); err != nil {
			t.Fatal(err)
		}
	}
	if crowd.RuleSet().CrowdCounters() == 0 {
		t.Fatal("the built-in pack has no crowd counters")
	}
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var evs []warden.Event
	// 40 new accounts sign up from one address, then like the same
	// targets together: signup bursts, crowd counters and lockstep.
	for i := range 40 {
		a := "acct" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		evs = append(evs, warden.Event{ID: "s" + a, Type: "signup", Actor: a, IP: "203.0.113.7", Time: t0.Add(time.Duration(i) * time.Second)})
	}
	for k := range 5 {
		for i := range 40 {
			a := "acct" + string(rune('a'+i%26)) + string(rune('a'+i/26))
			evs = append(evs, warden.Event{ID: "l" + a + string(rune('0'+k)), Type: "like", Actor: a, Target: "post" + string(rune('0'+k)), TargetKind: "post",
				IP: "203.0.113.7", Time: t0.Add(time.Minute + time.Duration(k)*10*time.Second + time.Duration(i)*100*time.Millisecond)})
		}
	}
	ctx := context.Background()
	differ, hits := 0, 0
	for i := range evs {
		ev := &evs[i]
		want := one.Evaluate(ctx, ev)
		c, err := crowd.ObserveCrowd(ev)
		if err != nil {
			t.Fatal(err)
		}
		got, err := parts[int(ev.Actor[len(ev.Actor)-1])%2].EvaluateCrowd(ctx, ev, &c)
		if err != nil {
			t.Fatal(err)
		}
		hits += len(want.Hits)
		if d := cmp.Diff(want, got); d != "" {
			differ++
			if differ < 3 {
				t.Errorf("event %s: split differs from one engine (-one +split):\n%s", ev.ID, d)
			}
		}
	}
	if hits == 0 {
		t.Fatal("no rule fired: the crowd proves nothing")
	}
	// A partition engine fed the wrong number of values refuses.
	if _, err := parts[0].EvaluateCrowd(ctx, &evs[0], &Crowd{Counters: []float64{1}}); err == nil {
		t.Error("a crowd record of the wrong size was evaluated")
	}
}

// TestCheckCrowdNamesTheCounter: a counter keyed by IP that reads the
// actor's own counter cannot be counted apart from the actor.
func TestCheckCrowdNamesTheCounter(t *testing.T) {
	fsys := fstest.MapFS{"r.yaml": {Data: []byte(`counters:
  - {name: actor_10m, kind: count, key: actor, window: 10m}
  - {name: busy_ip, kind: count, key: ip, where: actor_10m > 3, window: 10m}
rules:
  - {name: r, when: busy_ip > 10, action: review}
`)}}
	rs, err := Compile(fsys, CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := rs.CheckCrowd(); err == nil || !strings.Contains(err.Error(), `"busy_ip"`) || !strings.Contains(err.Error(), `"actor_10m"`) {
		t.Fatalf("CheckCrowd = %v, want it to name busy_ip and actor_10m", err)
	}
	pack, err := Compile(rules.FS, CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := pack.CheckCrowd(); err != nil {
		t.Fatalf("the built-in pack: %v", err)
	}
}
