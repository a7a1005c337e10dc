// Package ingest takes validated events to verdicts: it answers a repeated
// event id with its first verdict, asks the engine about new events, and
// returns only once they are in the durable event log.
//
// The engine's state (counters, detectors, rule labels) is a function of
// the log: ingest snapshots it with the log position it reflects, restores
// it at start by replaying the log after that position, and rebuilds it
// the same way when an append fails, so an event whose append failed is
// counted once, when its retry is logged, and a kill -9 loses nothing the
// log has. What happens outside Warden (cases, notices) hangs off
// OnAccepted, after the append.
package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/sqlstore"
)

// Options configure an Ingester.
type Options struct {
	Log    Log
	Engine warden.Engine
	// StatePath is the file the engine's state is snapshotted to, with the
	// log position it reflects; "" keeps no snapshots (a restart replays
	// the whole log). Used when Engine is a StatefulEngine.
	StatePath  string
	Logger     *slog.Logger
	Registerer prometheus.Registerer // nil: no metrics registered
	// OnAccepted, when set, is called after each commit with the newly
	// accepted events and their verdicts (not with repeats). It must not
	// block: the console's live view and enforcement hang off it.
	OnAccepted func(evs []warden.Event, vs []warden.Verdict)
	// Outbound, when set, takes the effects of verdicts (ladder steps) as
	// webhook deliveries, queued in the event's own transaction.
	Outbound Outbound
}

// Log is what ingest needs of the durable event log (*sqlstore.EventLog).
type Log interface {
	Append(ctx context.Context, recs []sqlstore.EventRecord) ([]sqlstore.AppendResult, error)
	Logged(ctx context.Context, ids []string) (map[string]sqlstore.LoggedEvent, error)
	EachID(ctx context.Context, fn func(id string)) error
	Count(ctx context.Context) (int64, error)
	Export(ctx context.Context, f sqlstore.ExportFilter, fn func(sqlstore.EventRecord) error) error
	LastSeq(ctx context.Context) (int64, error)
}

// StatefulEngine is an engine whose state is built by the events it
// evaluates (*engine.Engine): ingest keeps that state in step with the log.
type StatefulEngine interface {
	warden.Engine
	// Replay evaluates a logged event again to rebuild its state changes.
	Replay(ctx context.Context, ev *warden.Event)
	SaveState(w io.Writer) error
	LoadState(r io.Reader) error
	ResetState()
}

// Ingester turns events into durable, idempotent verdicts. Safe for
// concurrent use.
type Ingester struct {
	opt Options
	eng StatefulEngine // nil when the engine keeps no state
	// gate is held shared from evaluation to the end of the append, and
	// exclusively to snapshot or rebuild the engine's state, which then
	// reflects exactly the events in the log.
	gate     sync.RWMutex
	dirty    atomic.Bool // the state counts events the log lacks: rebuild before evaluating
	seen     *idFilter
	inflight [64]inflightShard
	seed     maphash.Seed

	accepted   prometheus.Counter
	duplicates prometheus.Counter
	verdicts   *prometheus.CounterVec
	commitSecs prometheus.Histogram
	commitRecs prometheus.Histogram
	snapPause  prometheus.Histogram
}

type inflightShard struct {
	mu  sync.Mutex
	ids map[string]chan struct{}
}

// New returns an Ingester and warms its index of seen ids from the log.
func New(ctx context.Context, opt Options) (*Ingester, error) {
	if opt.Engine == nil {
		opt.Engine = warden.AllowAll{}
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	n, err := opt.Log.Count(ctx)
	if err != nil {
		return nil, fmt.Errorf("count events: %w", err)
	}
	in := &Ingester{opt: opt, seen: newIDFilter(int(n) * 2), seed: maphash.MakeSeed()}
	for i := range in.inflight {
		in.inflight[i].ids = make(map[string]chan struct{})
	}
	start := time.Now()
	if err := opt.Log.EachID(ctx, in.seen.Add); err != nil {
		return nil, fmt.Errorf("load event ids: %w", err)
	}
	opt.Logger.Info("event log loaded", "events", n, "took", time.Since(start).Round(time.Millisecond))

	in.accepted = prometheus.NewCounter(prometheus.CounterOpts{Name: "warden_events_accepted_total", Help: "Events accepted into the durable log."})
	in.duplicates = prometheus.NewCounter(prometheus.CounterOpts{Name: "warden_events_duplicate_total", Help: "Events whose id was already logged; answered with the first verdict."})
	in.verdicts = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "warden_verdicts_total", Help: "Verdicts on newly accepted events, by action."}, []string{"action"})
	in.commitSecs = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "warden_event_log_commit_seconds", Help: "Time to durably commit one group of events.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)})
	in.commitRecs = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "warden_event_log_commit_events", Help: "Events per group commit.", Buckets: prometheus.ExponentialBuckets(1, 4, 9)})
	in.snapPause = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "warden_state_snapshot_pause_seconds", Help: "How long intake waited while the engine's state was copied for a snapshot.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)})
	for _, a := range warden.Actions {
		in.verdicts.WithLabelValues(a.String())
	}
	if opt.Registerer != nil {
		for _, c := range []prometheus.Collector{in.accepted, in.duplicates, in.verdicts, in.commitSecs, in.commitRecs, in.snapPause} {
			if err := opt.Registerer.Register(c); err != nil {
				return nil, err
			}
		}
	}
	if l, ok := opt.Log.(*sqlstore.EventLog); ok {
		l.OnCommit = func(records int, took time.Duration) {
			in.commitSecs.Observe(took.Seconds())
			in.commitRecs.Observe(float64(records))
		}
	}
	if in.eng, _ = opt.Engine.(StatefulEngine); in.eng != nil {
		if err := in.rebuild(ctx); err != nil {
			return nil, err
		}
	}
	return in, nil
}

// Ingest returns the verdict of each event, as JSON, in order. New events are
// evaluated and durably logged before Ingest returns; an id seen before (in
// the log, earlier in evs, or in a concurrent call) gets its first verdict
// and is not evaluated again. On error, nothing new from evs may be assumed
// logged, and the caller must answer with a 5xx.
func (in *Ingester) Ingest(ctx context.Context, evs []warden.Event) ([][]byte, error) {
	out := make([][]byte, len(evs))
	// Within the request, later copies of an id answer like the first.
	firstIdx, unique, err := FirstOfEach(evs)
	if err != nil {
		return nil, err
	}
	if err := in.ingestUnique(ctx, evs, unique, out, 0); err != nil {
		return nil, err
	}
	for i := range evs {
		if f := firstIdx[evs[i].ID]; f != i {
			out[i] = out[f]
			in.duplicates.Inc()
		}
	}
	return out, nil
}

// FirstOfEach indexes a request's events by id: firstIdx maps each id to
// the index of its first copy, unique lists those indexes in order. A
// later copy that is not the same event is the Conflict error.
func FirstOfEach(evs []warden.Event) (firstIdx map[string]int, unique []int, err error) {
	firstIdx = make(map[string]int, len(evs))
	for i := range evs {
		if f, ok := firstIdx[evs[i].ID]; !ok {
			firstIdx[evs[i].ID] = i
			unique = append(unique, i)
		} else if !evs[f].Same(&evs[i]) {
			return nil, nil, Conflict(i, &evs[i])
		}
	}
	return firstIdx, unique, nil
}

// SameAsLogged refuses ev, at index i of the request, when the log holds
// another event under its id (body, the logged event's JSON): the
// ECONFLICT of Conflict. A cluster node's intake uses it too.
func SameAsLogged(i int, ev *warden.Event, body []byte) error {
	var logged warden.Event
	if err := json.Unmarshal(body, &logged); err != nil {
		return fmt.Errorf("read logged event %q: %w", ev.ID, err)
	}
	if !logged.Same(ev) {
		return Conflict(i, ev)
	}
	return nil
}

// Conflict is the error for ev, at index i of the request, whose id names
// another event.
func Conflict(i int, ev *warden.Event) error {
	return &warden.Error{Code: warden.ECONFLICT, Field: fmt.Sprintf("events[%d].id", i),
		Message: fmt.Sprintf("event id %q was already used for a different event; an id identifies one event, "+
			"so a retry must send the same event, and a new event needs a new id", ev.ID)}
}

func (in *Ingester) shard(id string) *inflightShard {
	return &in.inflight[maphash.String(in.seed, id)%uint64(len(in.inflight))]
}

// ingestUnique handles events whose ids are distinct within the request.
func (in *Ingester) ingestUnique(ctx context.Context, evs []warden.Event, idx []int, out [][]byte, depth int) error {
	// Claim each id so that concurrent requests carrying it wait for the
	// first rather than evaluating it twice.
	var mine, waitIdx []int
	var waits []chan struct{}
	done := make(chan struct{})
	for _, i := range idx {
		s := in.shard(evs[i].ID)
		s.mu.Lock()
		if ch, ok := s.ids[evs[i].ID]; ok {
			waitIdx, waits = append(waitIdx, i), append(waits, ch)
		} else {
			s.ids[evs[i].ID] = done
			mine = append(mine, i)
		}
		s.mu.Unlock()
	}
	// Our claims are let go as soon as our own events are logged, before we
	// wait for anyone else's: a concurrent request may hold an id we carry
	// while it waits for one of ours, and holding ours while waiting for
	// theirs would have the two wait for each other forever. On an error
	// they are let go on return, and the waiters take the events on.
	released := false
	release := func() {
		if released {
			return
		}
		released = true
		for _, i := range mine {
			s := in.shard(evs[i].ID)
			s.mu.Lock()
			delete(s.ids, evs[i].ID)
			s.mu.Unlock()
		}
		close(done)
	}
	defer release()

	// Ids the filter may have seen are looked up in the log.
	var maybe []string
	for _, i := range mine {
		if in.seen.MayContain(evs[i].ID) {
			maybe = append(maybe, evs[i].ID)
		}
	}
	var stored map[string][]byte
	if len(maybe) > 0 {
		logged, err := in.opt.Log.Logged(ctx, maybe)
		if err != nil {
			return err
		}
		// A logged id re-sent with another event is refused before
		// anything of the request is evaluated or logged.
		stored = make(map[string][]byte, len(logged))
		for _, i := range mine {
			if l, ok := logged[evs[i].ID]; ok {
				if err := SameAsLogged(i, &evs[i], l.Body); err != nil {
					return err
				}
				stored[evs[i].ID] = l.Verdict
			}
		}
	}
	accEvs, accVs, err := in.evaluateAndAppend(ctx, evs, mine, stored, out)
	if err != nil {
		return err
	}
	if in.opt.OnAccepted != nil && len(accEvs) > 0 {
		in.opt.OnAccepted(accEvs, accVs)
	}

	release()

	// Ids another request was handling: once it is done, its verdicts are
	// in the log; if it failed, take the events on ourselves.
	if len(waitIdx) == 0 {
		return nil
	}
	for _, ch := range waits {
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	ids := make([]string, len(waitIdx))
	for k, i := range waitIdx {
		ids[k] = evs[i].ID
	}
	got, err := in.opt.Log.Logged(ctx, ids)
	if err != nil {
		return err
	}
	var retry []int
	for _, i := range waitIdx {
		if l, ok := got[evs[i].ID]; ok {
			// A concurrent request logged another event with this id; the
			// rest of this request is logged by now, so this conflict
			// alone is refused (the one case where a refused request
			// changed something: two clients racing one id with two
			// different events).
			if err := SameAsLogged(i, &evs[i], l.Body); err != nil {
				return err
			}
			out[i] = l.Verdict
			in.duplicates.Inc()
		} else {
			retry = append(retry, i)
		}
	}
	if len(retry) > 0 {
		if depth > 3 {
			return warden.Errorf(warden.EUNAVAILABLE, "events are being retried by concurrent requests; retry later")
		}
		return in.ingestUnique(ctx, evs, retry, out, depth+1)
	}
	return nil
}

// evaluateAndAppend evaluates the events of idx that are not in stored and
// appends them to the log, writing every verdict into out; it returns the
// events newly accepted and their verdicts. The engine's state changes of
// an event whose append fails are undone by a rebuild from the log before
// anything else is evaluated.
func (in *Ingester) evaluateAndAppend(ctx context.Context, evs []warden.Event, idx []int, stored map[string][]byte, out [][]byte) ([]warden.Event, []warden.Verdict, error) {
	if err := in.enter(ctx); err != nil {
		return nil, nil, err
	}
	var recs []sqlstore.EventRecord
	var newIdx []int
	var verdicts []warden.Verdict
	now := time.Now().UnixMicro()
	evalCtx := context.WithoutCancel(ctx)
	url, queued := "", false
	if in.opt.Outbound != nil {
		url = in.opt.Outbound.WebhookURL()
	}
	fail := func(err error) ([]warden.Event, []warden.Verdict, error) {
		dirty := len(recs) > 0 && in.eng != nil
		if dirty {
			in.dirty.Store(true)
		}
		in.gate.RUnlock()
		if dirty {
			// Rebuild now rather than on the next request; a failure
			// here leaves the state dirty and the next request tries again.
			if rerr := in.recover(context.WithoutCancel(ctx)); rerr != nil {
				in.opt.Logger.Error("engine state not rebuilt after a failed append; events are refused until it is", "err", rerr)
			}
		}
		return nil, nil, err
	}
	for _, i := range idx {
		ev := &evs[i]
		if v, ok := stored[ev.ID]; ok {
			out[i] = v
			in.duplicates.Inc()
			continue
		}
		// The engine fails open on a cancelled context; a client that
		// goes away must not turn the verdict logged for its events into
		// an allow the rules did not give (the time budget bounds it).
		v := in.opt.Engine.Evaluate(evalCtx, ev)
		if v.Hits == nil {
			v.Hits = []warden.Hit{}
		}
		vj, err := json.Marshal(v)
		if err != nil {
			return fail(fmt.Errorf("encode verdict: %w", err))
		}
		body, err := json.Marshal(ev)
		if err != nil {
			return fail(fmt.Errorf("encode event: %w", err))
		}
		rec := sqlstore.EventRecord{ID: ev.ID, Type: ev.Type, Actor: ev.Actor, Target: ev.Target,
			TimeUS: ev.Time.UnixMicro(), ReceivedUS: now, Body: body, Verdict: vj}
		q, err := Outputs(&rec, ev, &v, url, warden.Micros(now))
		if err != nil {
			return fail(err)
		}
		queued = queued || q
		recs = append(recs, rec)
		newIdx = append(newIdx, i)
		verdicts = append(verdicts, v)
	}
	if len(recs) == 0 {
		in.gate.RUnlock()
		return nil, nil, nil
	}
	res, err := in.opt.Log.Append(ctx, recs)
	if err != nil {
		return fail(err)
	}
	if queued {
		in.opt.Outbound.Kick()
	}
	var accEvs []warden.Event
	var accVs []warden.Verdict
	for k, r := range res {
		i := newIdx[k]
		out[i] = r.Verdict
		in.seen.Add(evs[i].ID)
		if r.Duplicate {
			// Another writer logged the id first: this evaluation's
			// state changes count an event twice.
			if in.eng != nil {
				in.dirty.Store(true)
			}
			in.duplicates.Inc()
			continue
		}
		accEvs, accVs = append(accEvs, evs[i]), append(accVs, verdicts[k])
		in.verdicts.WithLabelValues(verdicts[k].Action.String()).Inc()
	}
	in.gate.RUnlock()
	in.accepted.Add(float64(len(accEvs)))
	return accEvs, accVs, nil
}

// enter takes the gate shared, rebuilding the engine's state first if an
// earlier append failed.
func (in *Ingester) enter(ctx context.Context) error {
	for {
		in.gate.RLock()
		if !in.dirty.Load() {
			return nil
		}
		in.gate.RUnlock()
		if err := in.recover(ctx); err != nil {
			in.opt.Logger.Error("engine state not rebuilt", "err", err)
			return warden.Errorf(warden.EUNAVAILABLE, "the engine is rebuilding its state after a failed write to the event log; retry later")
		}
	}
}

// recover rebuilds the engine's state if it is dirty.
func (in *Ingester) recover(ctx context.Context) error {
	in.gate.Lock()
	defer in.gate.Unlock()
	if !in.dirty.Load() {
		return nil
	}
	if err := in.rebuild(ctx); err != nil {
		return err
	}
	in.dirty.Store(false)
	return nil
}
