package ingest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

// slowEngine counts evaluations per id and is slow enough that concurrent
// requests overlap.
type slowEngine struct {
	mu sync.Mutex
	n  map[string]int
}

func (e *slowEngine) Evaluate(_ context.Context, ev *warden.Event) warden.Verdict {
	time.Sleep(50 * time.Microsecond)
	e.mu.Lock()
	e.n[ev.ID]++
	e.mu.Unlock()
	return warden.Verdict{EventID: ev.ID, Score: 0.5, Hits: []warden.Hit{}}
}

func events(ids ...string) []warden.Event {
	out := make([]warden.Event, len(ids))
	for i, id := range ids {
		out[i] = warden.Event{ID: id, Type: "like", Actor: "u", Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	}
	return out
}

func TestConcurrentRequestsEvaluateEachIDOnce(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		log := sqlstore.NewEventLog(db)
		defer log.Close()
		eng := &slowEngine{n: map[string]int{}}
		var accepted atomic.Int64
		in, err := New(context.Background(), Options{Log: log, Engine: eng,
			OnAccepted: func(evs []warden.Event, _ []warden.Verdict) { accepted.Add(int64(len(evs))) }})
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]string, 200)
		for i := range ids {
			ids[i] = fmt.Sprintf("e%d", i)
		}
		// Eight requests carry the same 200 ids, in different orders.
		var wg sync.WaitGroup
		results := make([][][]byte, 8)
		for r := 0; r < 8; r++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				order := append([]string(nil), ids...)
				for i := range order {
					j := (i*7 + r*13) % len(order)
					order[i], order[j] = order[j], order[i]
				}
				out, err := in.Ingest(context.Background(), events(order...))
				if err != nil {
					t.Error(err)
				}
				results[r] = out
			}()
		}
		wg.Wait()
		for id, n := range eng.n {
			if n != 1 {
				t.Errorf("%s evaluated %d times", id, n)
			}
		}
		if len(eng.n) != len(ids) || accepted.Load() != int64(len(ids)) {
			t.Errorf("evaluated %d ids, accepted %d; want %d each", len(eng.n), accepted.Load(), len(ids))
		}
		if n, _ := log.Count(context.Background()); n != int64(len(ids)) {
			t.Errorf("log holds %d events, want %d", n, len(ids))
		}
		for r, out := range results {
			if len(out) != len(ids) {
				t.Fatalf("request %d got %d verdicts", r, len(out))
			}
		}
	})
}

func TestRestartRemembersLoggedIDs(t *testing.T) {
	db := sqlstoretest.SQLite(t)
	in, log, eng := newIngester(t, db)
	if _, err := in.Ingest(context.Background(), events("a", "b")); err != nil {
		t.Fatal(err)
	}
	// A new Ingester over the same log (a restarted server) must answer
	// a and b from the log without evaluating them again.
	in2, err := New(context.Background(), Options{Log: log, Engine: eng})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in2.Ingest(context.Background(), events("a", "b", "c")); err != nil {
		t.Fatal(err)
	}
	if eng.n["a"] != 1 || eng.n["b"] != 1 || eng.n["c"] != 1 {
		t.Fatalf("evaluations after restart: %v, want one each", eng.n)
	}
}

func TestIDFilterHasNoFalseNegativesAndFewFalsePositives(t *testing.T) {
	f := newIDFilter(1000) // grows past its first layer below
	const n = 300000
	for i := 0; i < n; i++ {
		f.Add(fmt.Sprintf("id-%d", i))
	}
	for i := 0; i < n; i++ {
		if !f.MayContain(fmt.Sprintf("id-%d", i)) {
			t.Fatalf("id-%d was added but is reported absent", i)
		}
	}
	fp := 0
	for i := 0; i < 100000; i++ {
		if f.MayContain(fmt.Sprintf("other-%d", i)) {
			fp++
		}
	}
	if rate := float64(fp) / 100000; rate > 0.03 {
		t.Fatalf("false-positive rate %.3f over %d layers; want about 0.01", rate, len(f.layers))
	}
}

// TestCrossedClaimsDoNotDeadlock: request A carries ids x and y, while
// another request B holds y and will not let it go until A is done with x
// (B carries them in the other order and waits for x). A must commit x and
// let it go before it waits for y, or the two wait for each other forever.
func TestCrossedClaimsDoNotDeadlock(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		in, log, eng := newIngester(t, db)
		held := func(id string) bool {
			s := in.shard(id)
			s.mu.Lock()
			defer s.mu.Unlock()
			_, ok := s.ids[id]
			return ok
		}
		// B's claim on y.
		bDone := make(chan struct{})
		sy := in.shard("y")
		sy.mu.Lock()
		sy.ids["y"] = bDone
		sy.mu.Unlock()
		stop := make(chan struct{})
		defer close(stop)
		go func() { // B: waits until A has claimed x and let it go, then fails y
			for claimed := false; ; time.Sleep(time.Millisecond) {
				select {
				case <-stop:
					return
				default:
				}
				if h := held("x"); h {
					claimed = true
				} else if claimed {
					break
				}
			}
			sy.mu.Lock()
			delete(sy.ids, "y")
			sy.mu.Unlock()
			close(bDone)
		}()
		res := make(chan error, 1)
		go func() {
			_, err := in.Ingest(context.Background(), events("x", "y"))
			res <- err
		}()
		select {
		case err := <-res:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Ingest of x, y still waits after 10 s: it holds x while waiting for y")
		}
		if eng.n["x"] != 1 || eng.n["y"] != 1 {
			t.Fatalf("evaluations %v, want x and y once each (B failed, so A takes y on)", eng.n)
		}
		if n, _ := log.Count(context.Background()); n != 2 {
			t.Fatalf("log holds %d events, want 2", n)
		}
	})
}

// newIngester returns an Ingester over a new event log on db (closed when
// the test ends) that evaluates with a slowEngine.
func newIngester(t *testing.T, db *sqlstore.DB) (*Ingester, *sqlstore.EventLog, *slowEngine) {
	t.Helper()
	log := sqlstore.NewEventLog(db)
	t.Cleanup(log.Close)
	eng := &slowEngine{n: map[string]int{}}
	in, err := New(context.Background(), Options{Log: log, Engine: eng})
	if err != nil {
		t.Fatal(err)
	}
	return in, log, eng
}
