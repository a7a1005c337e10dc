package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/engine"
	"github.com/wardenhq/warden/ingest"
	"github.com/wardenhq/warden/sqlstore"
)

// partition is one owned partition, or the crowd stage (p == crowdStage):
// a goroutine consuming its subject in stream order into its engine.
type partition struct {
	n   *Node
	p   int
	eng Engine
	// For the crowd stage: the last intake sequence already published to
	// the events stream and that stream's last sequence, as found at
	// restore and advanced by each confirmation; and the sequence the next
	// publish expects to follow (tail plus the publishes in flight).
	published, tail, sent uint64
	flight          []crowdFlight // its publishes awaiting confirmation, oldest first
	rev             atomic.Uint64 // the lease's revision
	// acqRev is the lease's revision when this node took it.
	acqRev uint64
	// until is when this node stops acting on the lease unless renewed
	// (Unix nanoseconds).
	until atomic.Int64

	ctx      context.Context
	cancel   context.CancelFunc
	snapshot atomic.Bool // take a final snapshot on stop
	done     chan struct{}
	stopOnce sync.Once

	seq      atomic.Uint64 // the stream sequence the state reflects
	snapSeq  uint64
	snapAt   atomic.Int64 // Unix nanoseconds of the last snapshot (0: none)
	lag      atomic.Int64
	restored chan struct{} // closed once the state is restored and consuming
	snapReq  chan chan error
}

func newPartition(n *Node, p int, eng Engine, rev uint64, until time.Time) *partition {
	part := &partition{n: n, p: p, eng: eng, done: make(chan struct{}), restored: make(chan struct{}), snapReq: make(chan chan error)}
	part.rev.Store(rev)
	part.acqRev = rev
	part.until.Store(until.UnixNano())
	part.ctx, part.cancel = context.WithCancel(n.ctx)
	return part
}

// stop ends the partition's consumption and waits for it; with snapshot,
// the state is snapshotted first.
func (part *partition) stop(snapshot bool) {
	part.stopOnce.Do(func() {
		part.snapshot.Store(snapshot)
		part.cancel()
	})
	<-part.done
}

// snapshotNow has the partition's goroutine snapshot its state between
// batches (within about a second).
func (part *partition) snapshotNow(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case part.snapReq <- reply:
	case <-part.done:
		return errors.New("partition stopped")
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (part *partition) valid() bool { return time.Now().UnixNano() < part.until.Load() }

// durable names the partition's durable consumer for this ownership: one
// of its own per lease taken, so that a previous owner still pulling (a
// node that has not yet noticed its lease is gone) never takes messages
// from the new owner's consumer.
func (part *partition) durable() string {
	return consumerPrefix(part.p) + strconv.FormatUint(part.acqRev, 10)
}

func consumerPrefix(p int) string {
	if p == crowdStage {
		return crowdDurablePref
	}
	return "warden-p" + strconv.Itoa(p) + "-r"
}

// stream is the stream the partition consumes: the intake for the crowd
// stage, the events stream for a partition.
func (part *partition) stream() string {
	if part.p == crowdStage {
		return IntakeStream
	}
	return StreamName
}

func (part *partition) subject() string {
	if part.p == crowdStage {
		return intakeSubject
	}
	return Subject(part.p)
}

// dropOldConsumers deletes the partition's consumers of earlier owners.
func (part *partition) dropOldConsumers(ctx context.Context) {
	stream, err := part.n.js.Stream(ctx, part.stream())
	if err != nil {
		return
	}
	names := stream.ConsumerNames(ctx)
	var old []string
	for name := range names.Name() {
		if strings.HasPrefix(name, consumerPrefix(part.p)) && name != part.durable() {
			old = append(old, name)
		}
	}
	for _, name := range old {
		part.n.js.DeleteConsumer(ctx, part.stream(), name)
	}
}

// run restores the partition's state and consumes its subject until
// stopped; an error (the event log failing, say) restarts it from the
// last snapshot, which rebuilds the state from the stream.
func (part *partition) run() {
	defer close(part.done)
	log := part.n.log.With("partition", stageName(part.p))
	// clean is false when consume stopped mid-batch: the engine may have
	// counted events the log (or, for the crowd stage, the events stream)
	// lacks, and a snapshot of that state would have the next owner count
	// them again. Only a stop between batches is snapshotted.
	clean := true
	for part.ctx.Err() == nil && part.valid() {
		err := part.consume(log)
		clean = err == nil
		if err == nil || part.ctx.Err() != nil {
			break
		}
		log.Warn("partition restarting from its last snapshot", "err", err)
		select {
		case <-part.ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
	if !clean && part.snapshot.Load() {
		log.Info("partition stopped mid-batch; no snapshot at hand-over, the next owner replays from the last one")
	}
	if clean && part.snapshot.Load() && part.seq.Load() > part.snapSeq {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := part.save(ctx); err != nil {
			log.Warn("partition snapshot at hand-over failed; the next owner replays more", "err", err)
		}
		cancel()
	}
}

// consume restores the state from the last snapshot and processes the
// stream from the sequence after it.
func (part *partition) consume(log *slog.Logger) error {
	n := part.n
	start := time.Now()
	part.flight = nil
	seq, err := part.restore(part.ctx)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	part.seq.Store(seq)
	part.snapSeq = seq
	// The durable consumer is made afresh from the snapshot's sequence: a
	// dead owner's unacknowledged messages are then delivered at once and
	// in order, rather than after their ack wait.
	ctx, cancel := context.WithTimeout(part.ctx, 10*time.Second)
	if part.p == crowdStage {
		if err := part.findTail(ctx, seq); err != nil {
			cancel()
			return fmt.Errorf("read the events stream's tail: %w", err)
		}
	}
	part.dropOldConsumers(ctx)
	n.js.DeleteConsumer(ctx, part.stream(), part.durable())
	cc := jetstream.ConsumerConfig{Durable: part.durable(), FilterSubject: part.subject(), AckPolicy: jetstream.AckAllPolicy,
		AckWait: 30 * time.Second, MaxAckPending: 4096, InactiveThreshold: time.Hour, DeliverPolicy: jetstream.DeliverAllPolicy}
	if seq > 0 {
		cc.DeliverPolicy, cc.OptStartSeq = jetstream.DeliverByStartSequencePolicy, seq+1
	}
	cons, err := n.js.CreateOrUpdateConsumer(ctx, part.stream(), cc)
	if err != nil {
		cancel()
		return fmt.Errorf("consumer: %w", err)
	}
	// Everything up to the stream's last message for this subject is
	// caught up on before the partition counts as restored.
	var target uint64
	if info, err := cons.Info(ctx); err == nil {
		target = seq + info.NumPending
	}
	cancel()
	it, err := cons.Messages(jetstream.PullMaxMessages(1024), jetstream.PullHeartbeat(2*time.Second))
	if err != nil {
		return fmt.Errorf("consume: %w", err)
	}
	defer it.Stop()
	stopIt := context.AfterFunc(part.ctx, it.Stop)
	defer stopIt()

	var replayed, evaluated int
	caughtUp := target <= seq
	if caughtUp {
		part.markRestored(log, seq, 0, 0, start)
	}
	lastSnap, lagAt := time.Now(), time.Now()
	batch := make([]jetstream.Msg, 0, 256)
	for {
		if !part.valid() {
			log.Warn("partition lease not renewed in time; stopping")
			return nil
		}
		msg, err := it.Next(jetstream.NextMaxWait(time.Second))
		if errors.Is(err, jetstream.ErrMsgIteratorClosed) || part.ctx.Err() != nil {
			return nil
		}
		if err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
			// The consumer was deleted (a new owner made its own), or
			// heartbeats stopped: start over from the snapshot.
			return fmt.Errorf("consume: %w", err)
		}
		if msg == nil && part.p == crowdStage {
			// Idle: everything in flight is confirmed and acknowledged.
			if err := part.settleCrowd(part.ctx, true); err != nil {
				return err
			}
		}
		if msg != nil {
			batch = append(batch[:0], msg)
			for len(batch) < cap(batch) {
				m, err := it.Next(jetstream.NextMaxWait(time.Millisecond))
				if err != nil || m == nil {
					break
				}
				batch = append(batch, m)
			}
			var r, e int
			if part.p == crowdStage {
				e, err = part.processCrowd(batch)
			} else {
				r, e, err = part.process(batch, part.seq.Load() < target)
			}
			if err != nil {
				return err
			}
			replayed += r
			evaluated += e
		}
		if !caughtUp && part.seq.Load() >= target {
			caughtUp = true
			part.markRestored(log, seq, replayed, evaluated, start)
		}
		// The lag is read from the consumer once a second, not per batch.
		if time.Since(lagAt) >= time.Second || (!caughtUp && msg == nil) {
			lagAt = time.Now()
			if info, err := cons.Info(part.ctx); err == nil {
				part.lag.Store(int64(info.NumPending))
				if !caughtUp && info.NumPending == 0 && info.NumAckPending == 0 {
					caughtUp = true
					part.markRestored(log, seq, replayed, evaluated, start)
				}
			}
		}
		if time.Since(lastSnap) >= n.cfg.SnapshotEvery && part.seq.Load() > part.snapSeq {
			if err := part.save(part.ctx); errors.Is(err, errCrowdSettle) {
				return err
			} else if err != nil {
				log.Warn("partition snapshot failed", "err", err)
			}
			lastSnap = time.Now()
		}
		select {
		case reply := <-part.snapReq:
			err := part.save(part.ctx)
			reply <- err
			if errors.Is(err, errCrowdSettle) {
				return err
			}
			lastSnap = time.Now()
		default:
		}
	}
}

func (part *partition) markRestored(log *slog.Logger, from uint64, replayed, evaluated int, start time.Time) {
	took := time.Since(start)
	part.n.m.restore.Observe(took.Seconds())
	log.Info("partition restored", "snapshot_seq", from, "replayed", replayed, "evaluated", evaluated, "took", took.Round(time.Millisecond))
	select {
	case <-part.restored:
	default:
		close(part.restored)
	}
}

// errCrowdSettle is a crowd-stage snapshot's failure to see its publishes
// confirmed first: the stage starts over from its last snapshot.
var errCrowdSettle = errors.New("crowd stage: publishes not confirmed before the snapshot")

// errRecount is process's answer when the engine counted an event the
// log has from another message: the partition restarts from its snapshot.
var errRecount = errors.New("an event repeated past the stream's de-duplication window was counted; rebuilding the partition's state")

// process takes a batch of the partition's messages, in stream order, to
// the event log. An event the log already has from this very message (the
// previous owner logged it and died before acknowledging) only rebuilds
// state; one it has from another message (a repeat past the stream's
// de-duplication window) is answered with its first verdict and not
// counted; every other event is evaluated once and logged.
//
// While catching up after a take-over (catchUp), the log is read before
// evaluating, since many events are the previous owner's. Afterwards the
// events are evaluated straight away and only those the log reports as
// duplicates are looked up; one logged from another message means the
// engine counted a repeat, and the partition is rebuilt (errRecount),
// catching up past it.
func (part *partition) process(batch []jetstream.Msg, catchUp bool) (replayed, evaluated int, err error) {
	n := part.n
	ctx := part.ctx
	type item struct {
		msg   jetstream.Msg
		ev    warden.Event
		seq   uint64
		recv  int64
		crowd engine.Crowd
		reply []byte // the verdict to answer with, when known now
		rec   int    // index in recs, -1 when not evaluated
	}
	items := make([]item, 0, len(batch))
	ids := make([]string, 0, len(batch))
	for _, m := range batch {
		md, err := m.Metadata()
		if err != nil {
			return 0, 0, fmt.Errorf("message metadata: %w", err)
		}
		if md.Sequence.Stream <= part.seq.Load() {
			continue
		}
		it := item{msg: m, seq: md.Sequence.Stream, rec: -1}
		// The event's identity is its intake message: the time the intake
		// stream took it is what the log records as received.
		it.recv, err = strconv.ParseInt(m.Headers().Get(receivedHeader), 10, 64)
		if err == nil {
			err = decodeCrowd(m.Headers().Get(crowdHeader), &it.crowd)
		}
		if err == nil {
			it.ev, err = warden.DecodeEvent(m.Data())
		}
		if err != nil {
			// The crowd stage publishes only valid events with their
			// values; a message without was not published by a Warden
			// node, and is skipped for good.
			n.log.Warn("stream message is not an event from the crowd stage; skipped", "partition", part.p, "seq", it.seq, "err", err)
			part.seq.Store(it.seq)
			continue
		}
		items = append(items, it)
		ids = append(ids, it.ev.ID)
	}
	if len(items) == 0 {
		if len(batch) > 0 {
			batch[len(batch)-1].Ack()
		}
		return 0, 0, nil
	}
	var logged map[string]sqlstore.LoggedEvent
	if catchUp {
		if logged, err = n.cfg.Log.Logged(ctx, ids); err != nil {
			return 0, 0, err
		}
	}
	var recs []sqlstore.EventRecord
	var evs []warden.Event
	var vs []warden.Verdict
	webhookURL, queued := "", false
	if n.cfg.Outbound != nil {
		webhookURL = n.cfg.Outbound.WebhookURL()
	}
	first := make(map[string]int, len(items)) // id → item that evaluated it, in this batch
	for i := range items {
		it := &items[i]
		if l, ok := logged[it.ev.ID]; ok {
			if l.ReceivedUS == it.recv {
				if err := part.eng.ReplayCrowd(ctx, &it.ev, &it.crowd); err != nil {
					return 0, 0, err
				}
				replayed++
			}
			it.reply = l.Verdict
			continue
		}
		if _, dup := first[it.ev.ID]; dup {
			continue // answered below with the first copy's verdict
		}
		first[it.ev.ID] = i
		v, err := part.eng.EvaluateCrowd(ctx, &it.ev, &it.crowd)
		if err != nil {
			return 0, 0, err
		}
		if v.Hits == nil {
			v.Hits = []warden.Hit{}
		}
		vj, err := json.Marshal(v)
		if err != nil {
			return 0, 0, err
		}
		it.rec = len(recs)
		rec := sqlstore.EventRecord{ID: it.ev.ID, Type: it.ev.Type, Actor: it.ev.Actor, Target: it.ev.Target,
			TimeUS: it.ev.Time.UnixMicro(), ReceivedUS: it.recv, Body: it.msg.Data(), Verdict: vj}
		// Rule-quality counts and effects go in the same transaction.
		q, err := ingest.Outputs(&rec, &it.ev, &v, webhookURL, warden.Micros(it.recv))
		if err != nil {
			return 0, 0, err
		}
		queued = queued || q
		recs = append(recs, rec)
		evs, vs = append(evs, it.ev), append(vs, v)
	}
	// A partition that stops (its lease lost or handed over, the node
	// closing) cancels ctx, and the engine fails open on a cancelled
	// context: verdicts of allow that the rules did not give. None of them
	// is logged; the batch stays unacknowledged for the next owner.
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	if len(recs) > 0 {
		res, err := n.cfg.Log.Append(ctx, recs)
		if err != nil {
			// The engine counted events the log lacks: the partition
			// restarts from its snapshot.
			return 0, 0, fmt.Errorf("append to the event log: %w", err)
		}
		if queued {
			n.cfg.Outbound.Kick()
		}
		var dups []string
		for k, r := range res {
			if r.Duplicate {
				dups = append(dups, recs[k].ID)
			}
		}
		isDup := map[string]bool{}
		if len(dups) > 0 {
			// Logged from this message: the previous owner's work, which
			// evaluating again counted once, as a replay would. From
			// another: a repeat the engine must not have counted.
			have, err := n.cfg.Log.Logged(ctx, dups)
			if err != nil {
				return 0, 0, err
			}
			for k, r := range res {
				if !r.Duplicate {
					continue
				}
				if l, ok := have[recs[k].ID]; !ok || l.ReceivedUS != recs[k].ReceivedUS {
					n.m.recounts.Inc()
					return 0, 0, errRecount
				}
				isDup[recs[k].ID] = true
				replayed++
			}
		}
		var accEvs []warden.Event
		var accVs []warden.Verdict
		for k := range res {
			if !isDup[recs[k].ID] {
				accEvs, accVs = append(accEvs, evs[k]), append(accVs, vs[k])
			}
		}
		for i := range items {
			if items[i].rec >= 0 {
				items[i].reply = res[items[i].rec].Verdict
			}
		}
		evaluated = len(accEvs)
		n.m.evaluated.Add(float64(len(accEvs)))
		if n.cfg.OnAccepted != nil && len(accEvs) > 0 {
			n.cfg.OnAccepted(accEvs, accVs)
		}
	}
	for i := range items {
		it := &items[i]
		if it.reply == nil {
			it.reply = items[first[it.ev.ID]].reply
		}
		if to := it.msg.Headers().Get(replyHeader); to != "" {
			n.nc.PublishMsg(&nats.Msg{Subject: to, Data: it.reply, Header: nats.Header{"Warden-Event": []string{it.ev.ID}}})
		}
	}
	part.seq.Store(items[len(items)-1].seq)
	n.m.replayed.Add(float64(replayed))
	return replayed, evaluated, batch[len(batch)-1].Ack()
}

// restore loads the partition's snapshot into its engine and returns the
// stream sequence it reflects; with none the state is empty and that is 0.
func (part *partition) restore(ctx context.Context) (uint64, error) {
	part.eng.ResetState()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	data, err := part.n.state.GetBytes(ctx, part.objectName())
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	seq, body, err := decodeSnapshot(data)
	if err != nil {
		part.n.log.Warn("partition snapshot unreadable; replaying the partition's whole stream", "partition", stageName(part.p), "err", err)
		return 0, nil
	}
	if err := part.eng.LoadState(bytes.NewReader(body)); err != nil {
		part.eng.ResetState()
		part.n.log.Warn("partition snapshot not loaded; replaying the partition's whole stream", "partition", stageName(part.p), "err", err)
		return 0, nil
	}
	part.snapAt.Store(time.Now().UnixNano())
	return seq, nil
}

func (part *partition) objectName() string {
	if part.p == crowdStage {
		return crowdObjectName
	}
	return "partition-" + strconv.Itoa(part.p)
}

// save snapshots the partition's state with the sequence it reflects. It
// runs on the partition's goroutine (or after it ended), so the state
// does not change under it.
func (part *partition) save(ctx context.Context) error {
	if part.p == crowdStage {
		// The crowd stage's snapshot must not reflect an event whose
		// publish could still fail: a restore publishes only after the
		// events stream's last message and replays from the snapshot.
		if err := part.settleCrowd(ctx, true); err != nil {
			return fmt.Errorf("%w: %w", errCrowdSettle, err)
		}
	}
	var buf bytes.Buffer
	seq := part.seq.Load()
	buf.Write(snapshotHeader(seq))
	if err := part.eng.SaveState(&buf); err != nil {
		return err
	}
	if !part.valid() && !part.snapshot.Load() {
		return errors.New("lease expired")
	}
	start := time.Now()
	if _, err := part.n.state.PutBytes(ctx, part.objectName(), buf.Bytes()); err != nil {
		return err
	}
	part.snapSeq = seq
	part.snapAt.Store(time.Now().UnixNano())
	part.n.m.snapBytes.Observe(float64(buf.Len()))
	part.n.log.Debug("partition snapshot written", "partition", stageName(part.p), "seq", seq, "bytes", buf.Len(), "took", time.Since(start).Round(time.Millisecond))
	return nil
}
