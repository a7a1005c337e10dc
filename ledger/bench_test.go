package ledger

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

// BenchmarkAccessAppend: accesses recorded durably on SQLite
// (synchronous=FULL) by 64 and by 256 concurrent callers, for 10,000 users, group-committed by the
// service's writer; entries/s is the figure the README's target is about.
// The floor, in the same run, is one access per transaction
// (unbatched_entries/s): batched_vs_unbatched is the ratio.
func BenchmarkAccessAppend(b *testing.B) {
	db := sqlstoretest.SQLite(b)
	s, _ := newTestService(b, db, Options{})
	ctx := context.Background()
	mk := func(i int) Access {
		a := Access{User: fmt.Sprintf("u%d", i%10_000), Actor: Actor{Class: ClassService, ID: "bench"}, Purpose: ServiceOperation, DataCategories: []string{"profile"}}
		a.Validate(time.Now())
		return a
	}
	// Floor: 500 appends, one transaction each.
	app := db.NewAccessAppender(Chainer)
	const floorN = 500
	t0 := time.Now()
	for i := range floorN {
		a := mk(i)
		r := &sqlstore.AccessRow{ID: NewID("AX-"), UserID: a.User, ActorClass: a.Actor.Class, ActorID: a.Actor.ID, Purpose: a.Purpose, Categories: "profile", TimeUS: a.Time.UnixMicro(), RecordedUS: a.Time.UnixMicro()}
		if err := app.Append(ctx, []*sqlstore.AccessRow{r}); err != nil {
			b.Fatal(err)
		}
	}
	floor := floorN / time.Since(t0).Seconds()
	for _, workers := range []int{64, 256} {
		b.Run(fmt.Sprintf("callers=%d", workers), func(b *testing.B) { appendConcurrently(b, s, workers, floor, mk) })
	}
}

func appendConcurrently(b *testing.B, s *Service, workers int, floor float64, mk func(int) Access) {
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	per := (b.N + workers - 1) / workers
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				if _, err := s.Record(ctx, mk(w*per+i)); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	rate := float64(per*workers) / time.Since(start).Seconds()
	b.ReportMetric(rate, "entries/s")
	b.ReportMetric(floor, "unbatched_entries/s")
	b.ReportMetric(rate/floor, "batched_vs_unbatched")
}

// benchEntries is how many entries BenchmarkVerify builds:
// WARDEN_LEDGER_VERIFY_ENTRIES, default 1,000,000.
func benchEntries() int {
	if n, err := strconv.Atoi(os.Getenv("WARDEN_LEDGER_VERIFY_ENTRIES")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

// BenchmarkVerify: `warden ledger verify` over a ledger of benchEntries
// entries in 100,000 chains on SQLite, with a signed checkpoint.
// verify_entries/s and est_10M_s (the extrapolation to 10 M entries) are
// the target's figures; the floor is hashing the same entries in memory
// (hash_entries/s), and vs_hash_floor the ratio.
func BenchmarkVerify(b *testing.B) {
	db := sqlstoretest.SQLite(b)
	s, ring := newTestService(b, db, Options{})
	ctx := context.Background()
	n := benchEntries()
	app := db.NewAccessAppender(Chainer)
	now := time.Now().UnixMicro()
	batch := make([]*sqlstore.AccessRow, 0, 20_000)
	for i := range n {
		batch = append(batch, &sqlstore.AccessRow{ID: fmt.Sprintf("AX-%012d", i), UserID: fmt.Sprintf("u%d", i%100_000), ActorClass: ClassEmployee,
			ActorID: fmt.Sprintf("agent-%d", i%300), Purpose: Purposes[i%len(Purposes)], Ticket: "zendesk:1", Categories: "profile", TimeUS: now, RecordedUS: now})
		if len(batch) == cap(batch) || i == n-1 {
			if err := app.Append(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if _, err := s.Checkpoint(ctx); err != nil {
		b.Fatal(err)
	}
	set, _ := ring.JWKS()
	// The floor: the same number of entry hashes, in memory.
	r := sqlstore.AccessRow{ID: "AX-000000000001", Subject: SubjectOf("salt", "u1"), ChainSeq: 7, ActorClass: ClassEmployee, ActorID: "agent-1", Purpose: SafetyReview, Ticket: "zendesk:1", Categories: "profile", TimeUS: now, RecordedUS: now}
	t0 := time.Now()
	for range n {
		r.PrevHash = EntryHash(&r)
	}
	hashRate := float64(n) / time.Since(t0).Seconds()
	b.ResetTimer()
	var total time.Duration
	for range b.N {
		t := time.Now()
		rep, err := Verify(ctx, db, &set, nil)
		total += time.Since(t)
		if err != nil || !rep.OK || rep.Entries != int64(n) {
			b.Fatalf("%+v %v", rep, err)
		}
	}
	per := total.Seconds() / float64(b.N)
	b.ReportMetric(float64(n)/per, "verify_entries/s")
	b.ReportMetric(per*10_000_000/float64(n), "est_10M_s")
	b.ReportMetric(hashRate, "hash_entries/s")
	b.ReportMetric(float64(n)/per/hashRate, "vs_hash_floor")
}
