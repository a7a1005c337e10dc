package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/detect"
	"github.com/wardenhq/warden/engine"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

// countRules has every follow say how many follows its actor made.
const countRules = `
counters:
  - {name: follows_1h, kind: count, on: [follow], key: actor, window: 1h}
rules:
  - name: follow_count
    on: [follow]
    when: follows_1h >= 1
    action: allow
    reason: "{{follows_1h}} follows"
    version: 1
`

func countingEngine(t *testing.T) *engine.Engine {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "count.yaml"), []byte(countRules), 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := engine.Open(engine.Options{RulesDir: dir, Detectors: detect.New(detect.Config{})})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// flakyLog is the real event log with one failure injected on demand: the
// next Append fails before anything is written, as a full disk or a lost
// database connection would make it.
type flakyLog struct {
	*sqlstore.EventLog
	failNext atomic.Bool
}

func (l *flakyLog) Append(ctx context.Context, recs []sqlstore.EventRecord) ([]sqlstore.AppendResult, error) {
	if l.failNext.CompareAndSwap(true, false) {
		return nil, errors.New("injected: disk full")
	}
	return l.EventLog.Append(ctx, recs)
}

func follow(id string, at time.Duration) warden.Event {
	return warden.Event{ID: id, Type: "follow", Actor: "alice", Target: "bob", Time: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC).Add(at)}
}

// reasonOf ingests ev and returns its verdict's first hit's reason.
func reasonOf(t *testing.T, in *Ingester, ev warden.Event) string {
	t.Helper()
	out, err := in.Ingest(context.Background(), []warden.Event{ev})
	if err != nil {
		t.Fatalf("ingest %s: %v", ev.ID, err)
	}
	var v warden.Verdict
	if err := json.Unmarshal(out[0], &v); err != nil || len(v.Hits) == 0 {
		t.Fatalf("verdict %s: %v", out[0], err)
	}
	return v.Hits[0].Reason
}

// An event whose append failed was evaluated, so its counters moved; its
// retry must count it once, not twice.
func TestFailedAppendIsCountedOnceOnRetry(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		log := &flakyLog{EventLog: sqlstore.NewEventLog(db)}
		defer log.Close()
		in, err := New(context.Background(), Options{Log: log, Engine: countingEngine(t)})
		if err != nil {
			t.Fatal(err)
		}
		if got := reasonOf(t, in, follow("f1", 0)); got != "1 follows" {
			t.Fatalf("f1: %q", got)
		}
		log.failNext.Store(true)
		if _, err := in.Ingest(context.Background(), []warden.Event{follow("f2", time.Second)}); err == nil {
			t.Fatal("the injected append failure was not reported")
		}
		if got := reasonOf(t, in, follow("f2", time.Second)); got != "2 follows" {
			t.Fatalf("the retry of f2 says %q: the failed attempt was counted too", got)
		}
		if got := reasonOf(t, in, follow("f3", 2*time.Second)); got != "3 follows" {
			t.Fatalf("f3: %q", got)
		}
		if n, _ := log.Count(context.Background()); n != 3 {
			t.Fatalf("the log holds %d events, want 3", n)
		}
	})
}

// A restart restores the state from the snapshot and replays the events
// logged after its position; without a usable snapshot it replays the
// whole log. Either way no counted event is lost or counted twice.
func TestRestartRestoresSnapshotAndTail(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		state := filepath.Join(t.TempDir(), "state.snap")
		log := sqlstore.NewEventLog(db)
		defer log.Close()
		in, err := New(context.Background(), Options{Log: log, Engine: countingEngine(t), StatePath: state})
		if err != nil {
			t.Fatal(err)
		}
		reasonOf(t, in, follow("f1", 0))
		reasonOf(t, in, follow("f2", time.Second))
		if err := in.Snapshot(context.Background()); err != nil {
			t.Fatal(err)
		}
		reasonOf(t, in, follow("f3", 2*time.Second)) // after the snapshot: only in the log
		snap, err := os.ReadFile(state)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name string
			file []byte // the snapshot file at restart; nil: none
		}{
			{"snapshot and tail", snap},
			{"no snapshot", nil},
			{"damaged snapshot", snap[:len(snap)/2]},
		} {
			os.Remove(state)
			if tc.file != nil {
				os.WriteFile(state, tc.file, 0o600)
			}
			in2, err := New(context.Background(), Options{Log: log, Engine: countingEngine(t), StatePath: state})
			if err != nil {
				t.Fatal(err)
			}
			id := "f4-" + tc.name
			if got := reasonOf(t, in2, follow(id, 3*time.Second)); got != "4 follows" {
				t.Errorf("%s: the first event after a restart says %q, want 4 follows", tc.name, got)
			}
			// Take it out again so the next case starts from the same log.
			if _, err := db.Exec("DELETE FROM events WHERE id = $1", id); err != nil {
				t.Fatal(err)
			}
		}
	})
}
