package groupcommit

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestEveryRequestAnsweredOnce: many concurrent callers each get their own
// result, every request is committed exactly once, and batches form while
// a commit is slow.
func TestEveryRequestAnsweredOnce(t *testing.T) {
	var commits, seen atomic.Int64
	var mu sync.Mutex
	got := map[int]int{}
	g := New(16, func(ctx context.Context, reqs []int) ([]int, error) {
		commits.Add(1)
		time.Sleep(2 * time.Millisecond) // an fsync
		mu.Lock()
		for _, r := range reqs {
			got[r]++
		}
		mu.Unlock()
		seen.Add(int64(len(reqs)))
		out := make([]int, len(reqs))
		for i, r := range reqs {
			out[i] = r * 2
		}
		return out, nil
	})
	const n = 400
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := g.Do(context.Background(), i)
			if err != nil || res != 2*i {
				t.Errorf("Do(%d) = %d, %v", i, res, err)
			}
		}()
	}
	wg.Wait()
	if seen.Load() != n || len(got) != n {
		t.Fatalf("committed %d requests, %d distinct, want %d", seen.Load(), len(got), n)
	}
	for r, k := range got {
		if k != 1 {
			t.Fatalf("request %d committed %d times", r, k)
		}
	}
	if c := commits.Load(); c >= n/2 {
		t.Errorf("%d commits for %d concurrent requests: no batching", c, n)
	}
}

// TestErrorFailsTheBatch: a failed commit fails each request of its batch,
// and the group keeps working afterwards.
func TestErrorFailsTheBatch(t *testing.T) {
	fail := errors.New("disk full")
	var broken atomic.Bool
	broken.Store(true)
	g := New(8, func(ctx context.Context, reqs []string) ([]bool, error) {
		if broken.Load() {
			return nil, fail
		}
		return make([]bool, len(reqs)), nil
	})
	if _, err := g.Do(context.Background(), "a"); !errors.Is(err, fail) {
		t.Fatalf("err = %v, want %v", err, fail)
	}
	broken.Store(false)
	if _, err := g.Do(context.Background(), "b"); err != nil {
		t.Fatal(err)
	}
	short := New(8, func(ctx context.Context, reqs []string) ([]bool, error) { return nil, nil })
	if _, err := short.Do(context.Background(), "c"); err == nil {
		t.Fatal("a commit returning too few results went unnoticed")
	}
}

// TestCancelledCallerDoesNotCancelTheCommit: the leader's context ends
// while its batch commits; the commit still sees a live context.
func TestCancelledCallerDoesNotCancelTheCommit(t *testing.T) {
	release := make(chan struct{})
	var sawCancel atomic.Bool
	g := New(8, func(ctx context.Context, reqs []int) ([]int, error) {
		<-release
		if ctx.Err() != nil {
			sawCancel.Store(true)
		}
		return reqs, nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { _, err := g.Do(ctx, 1); done <- err }()
	time.Sleep(10 * time.Millisecond)
	cancel()
	close(release)
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if _, err := g.Do(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	if sawCancel.Load() {
		t.Fatal("the commit saw a cancelled context")
	}
}
