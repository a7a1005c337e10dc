// Package groupcommit lets concurrent callers share one durable write: the
// requests that arrive while a commit is running are committed together in
// the next one, so one fsync serves many callers (what the event log, the
// report intake and the access ledger do with writers of their own).
//
// There is no background goroutine: the first caller to find no commit
// running commits the queue, and hands the next batch to a new goroutine
// when more requests have queued meanwhile.
package groupcommit

import (
	"context"
	"fmt"
	"sync"
)

// Group commits requests of type Req in batches, answering each with a Res.
type Group[Req, Res any] struct {
	commit func(ctx context.Context, reqs []Req) ([]Res, error)
	max    int

	mu      sync.Mutex
	pending []*call[Req, Res]
	running bool
}

type call[Req, Res any] struct {
	ctx  context.Context
	req  Req
	res  Res
	err  error
	done chan struct{}
}

// New returns a Group whose commit writes up to max requests in one
// transaction and returns one result per request, in order; an error fails
// every request of the batch.
func New[Req, Res any](max int, commit func(ctx context.Context, reqs []Req) ([]Res, error)) *Group[Req, Res] {
	if max < 1 {
		max = 1
	}
	return &Group[Req, Res]{commit: commit, max: max}
}

// Do queues req and returns its result once the batch holding it is
// committed. A caller whose ctx ends while it waits gets ctx's error; its
// request may still be committed, as with any write cancelled mid-flight.
func (g *Group[Req, Res]) Do(ctx context.Context, req Req) (Res, error) {
	c := &call[Req, Res]{ctx: ctx, req: req, done: make(chan struct{})}
	g.mu.Lock()
	g.pending = append(g.pending, c)
	lead := !g.running
	g.running = true
	g.mu.Unlock()
	if lead {
		g.lead()
	}
	select {
	case <-c.done:
		return c.res, c.err
	case <-ctx.Done():
		var zero Res
		return zero, ctx.Err()
	}
}

// lead commits one batch, then passes the lead on if more requests are
// queued, so that no caller waits behind batches after its own.
func (g *Group[Req, Res]) lead() {
	g.mu.Lock()
	n := min(len(g.pending), g.max)
	batch := g.pending[:n:n]
	g.pending = g.pending[n:]
	g.mu.Unlock()

	reqs := make([]Req, len(batch))
	for i, c := range batch {
		reqs[i] = c.req
	}
	// One caller's cancellation must not fail the others' writes.
	res, err := g.commit(context.WithoutCancel(batch[0].ctx), reqs)
	if err == nil && len(res) != len(reqs) {
		err = fmt.Errorf("groupcommit: %d results for %d requests", len(res), len(reqs))
	}
	for i, c := range batch {
		if err != nil {
			c.err = err
		} else {
			c.res = res[i]
		}
		close(c.done)
	}

	g.mu.Lock()
	if len(g.pending) == 0 {
		g.running = false
		g.mu.Unlock()
		return
	}
	g.mu.Unlock()
	go g.lead()
}
