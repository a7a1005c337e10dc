package detect

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wardenhq/warden/synth"
)

// A Set restored from a snapshot answers every later event exactly as the
// Set that wrote it: accounts, lockstep crowds, text clusters and linked
// clusters all carry over, with the hash secret that indexes them.
func TestSnapshotResumesExactly(t *testing.T) {
	evs, _ := synth.Collect(synth.Config{Seed: 3, Accounts: 3000, Rate: 150, Every: time.Minute}, 12*time.Minute)
	half := len(evs) / 2
	a := New(Config{})
	for i := range evs[:half] {
		a.Observe(&evs[i])
	}
	var buf bytes.Buffer
	if err := a.WriteState(&buf); err != nil {
		t.Fatal(err)
	}
	b := New(Config{})
	if err := b.ReadState(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	fresh := New(Config{})
	var lockstep, linked, dup, differ int
	for i := range evs[half:] {
		ev := &evs[half+i]
		fa, fb := a.Observe(ev), b.Observe(ev)
		if d := cmp.Diff(fa, fb); d != "" {
			t.Fatalf("event %d (%s): restored Set differs (-writer +restored):\n%s", half+i, ev.ID, d)
		}
		if ff := fresh.Observe(ev); !cmp.Equal(fa, ff) {
			differ++
		}
		if fa.LockstepGroup > 0 {
			lockstep++
		}
		if fa.LinkedAccounts > 0 {
			linked++
		}
		if fa.DupTextAccounts > 1 {
			dup++
		}
	}
	// The comparison means something only if the detectors found things,
	// and if a Set without the first half would have answered otherwise.
	if lockstep == 0 || linked == 0 || dup == 0 || differ == 0 {
		t.Fatalf("weak test: lockstep %d, linked %d, near-duplicate %d, differing from a fresh Set %d", lockstep, linked, dup, differ)
	}
}

func TestSnapshotRefusesDamage(t *testing.T) {
	a := New(Config{})
	evs, _ := synth.Collect(synth.Config{Seed: 1, Accounts: 500, Rate: 50}, 2*time.Minute)
	for i := range evs {
		a.Observe(&evs[i])
	}
	var buf bytes.Buffer
	if err := a.WriteState(&buf); err != nil {
		t.Fatal(err)
	}
	b := New(Config{})
	err := b.ReadState(bytes.NewReader(buf.Bytes()[:buf.Len()/2]))
	if err == nil || !strings.Contains(err.Error(), "detector snapshot") {
		t.Fatalf("a truncated snapshot gave %v", err)
	}
	if st := b.Stats(); st.Accounts != 0 {
		t.Fatalf("a refused snapshot left %+v", st)
	}
}
