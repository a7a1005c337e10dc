package cluster

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/engine"
)

// The crowd stage is a partition (p == crowdStage) whose stream is the
// intake and whose output is the events stream: for each event, in intake
// order, it counts the event in the crowd counters and detectors and
// publishes it, with their values, to its actor's partition. Each publish
// expects the events stream's last sequence, so the events stream holds
// the intake's events in intake order with no gap and no repeat, even
// when two owners overlap (one of them is refused and starts over).

// findTail reads what the events stream already has from the crowd stage:
// its last sequence and the intake sequence of its last message. A restore
// replays the intake from the snapshot's sequence, rebuilding the state,
// and publishes only what comes after that message.
func (part *partition) findTail(ctx context.Context, snapSeq uint64) error {
	stream, err := part.n.js.Stream(ctx, StreamName)
	if err != nil {
		return err
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return err
	}
	last := info.State.LastSeq
	part.tail, part.sent, part.published = last, last, 0
	if last == 0 {
		return nil
	}
	msg, err := stream.GetMsg(ctx, last)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		// Trimmed or purged by an operator: what it held is unknown, so
		// only what the snapshot covers counts as published.
		part.published = snapSeq
		part.n.log.Warn("crowd stage: the events stream's last message is gone (trimmed or purged?); publishing from the snapshot's position", "intake_seq", snapSeq)
		return nil
	} else if err != nil {
		return err
	}
	h, err := strconv.ParseUint(msg.Header.Get(intakeSeqHeader), 10, 64)
	if err != nil {
		return fmt.Errorf("the events stream's message %d has no intake sequence: it was not published by a crowd stage", last)
	}
	part.published = h
	return nil
}

// crowdPublishWait bounds the wait for the events stream to confirm the
// crowd stage's oldest publish in flight; past it the stage starts over
// from its snapshot.
const crowdPublishWait = 10 * time.Second

// maxCrowdInFlight bounds the crowd stage's publishes not yet confirmed:
// with a batch of up to 1,024 more, the intake messages not yet
// acknowledged stay under the consumer's MaxAckPending (4,096), which
// would otherwise hold the next delivery until the idle wait settles.
const maxCrowdInFlight = 1024

// crowdFlight is one publish of the crowd stage awaiting the events
// stream's confirmation, or (f nil) an intake batch that published nothing.
// ack, when set, is the intake message to acknowledge once it and every
// publish before it are confirmed (the last of its batch).
type crowdFlight struct {
	f      jetstream.PubAckFuture
	intake uint64
	ack    jetstream.Msg
}

// processCrowd takes a batch of intake messages, in order, through the
// crowd engine and publishes each event not yet in the events stream to
// its partition with the crowd values. Publishes are pipelined across
// batches (each expects the stream's last sequence plus those in flight
// before it); an intake batch is acknowledged once the events stream has
// confirmed every publish up to its last.
func (part *partition) processCrowd(batch []jetstream.Msg) (published int, err error) {
	n := part.n
	var last uint64
	next := len(part.flight)
	for _, m := range batch {
		md, err := m.Metadata()
		if err != nil {
			return 0, fmt.Errorf("message metadata: %w", err)
		}
		seq := md.Sequence.Stream
		if seq <= part.seq.Load() {
			continue
		}
		last = seq
		ev, err := warden.DecodeEvent(m.Data())
		if err != nil {
			// Publishers validate; this one was not a Warden node's.
			n.log.Warn("intake message is not a valid event; skipped", "seq", seq, "err", err)
			continue
		}
		c, err := part.eng.ObserveCrowd(&ev)
		if err != nil {
			return 0, err
		}
		if seq <= part.published {
			continue // in the events stream already: only the state is rebuilt
		}
		enc, err := c.MarshalBinary()
		if err != nil {
			return 0, err
		}
		hdr := nats.Header{
			intakeSeqHeader: []string{strconv.FormatUint(seq, 10)},
			receivedHeader:  []string{strconv.FormatInt(md.Timestamp.UnixMicro(), 10)},
			crowdHeader:     []string{base64.RawStdEncoding.EncodeToString(enc)},
		}
		if to := m.Headers().Get(replyHeader); to != "" {
			hdr.Set(replyHeader, to)
		}
		msg := &nats.Msg{Subject: Subject(Partition(ev.Actor, n.p)), Data: m.Data(), Header: hdr}
		f, err := n.js.PublishMsgAsync(msg, jetstream.WithExpectLastSequence(part.sent), jetstream.WithStallWait(crowdPublishWait))
		if err != nil {
			return 0, fmt.Errorf("publish to the events stream: %w", err)
		}
		part.sent++
		part.flight = append(part.flight, crowdFlight{f: f, intake: seq})
		published++
	}
	if last > 0 {
		part.seq.Store(last)
	}
	if len(part.flight) > next {
		part.flight[len(part.flight)-1].ack = batch[len(batch)-1]
	} else {
		part.flight = append(part.flight, crowdFlight{ack: batch[len(batch)-1]})
	}
	n.m.crowd.Add(float64(published))
	// Take what is confirmed; wait only when too much is in flight.
	return published, part.settleCrowd(part.ctx, part.sent-part.tail > maxCrowdInFlight)
}

// settleCrowd takes the confirmed publishes off the head of the flight,
// acknowledging the intake batches they complete; with wait, it waits
// until the flight is empty. A refused or unconfirmed publish is an error:
// the stage starts over from its snapshot and finds the stream's tail.
func (part *partition) settleCrowd(ctx context.Context, wait bool) error {
	var timeout <-chan time.Time
	for len(part.flight) > 0 {
		fl := part.flight[0]
		if fl.f != nil {
			var ack *jetstream.PubAck
			var err error
			select {
			case ack = <-fl.f.Ok():
			case err = <-fl.f.Err():
			default:
				if !wait {
					return nil
				}
				if timeout == nil {
					t := time.NewTimer(crowdPublishWait)
					defer t.Stop()
					timeout = t.C
				}
				select {
				case ack = <-fl.f.Ok():
				case err = <-fl.f.Err():
				case <-timeout:
					err = fmt.Errorf("not confirmed within %s", crowdPublishWait)
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			if err != nil {
				part.flight = part.flight[:0]
				return fmt.Errorf("the events stream did not take event %d of the intake: %w", fl.intake, err)
			}
			part.tail, part.published = ack.Sequence, fl.intake
		}
		if fl.ack != nil {
			if err := fl.ack.Ack(); err != nil {
				return err
			}
		}
		part.flight = part.flight[1:]
	}
	clear(part.flight[:cap(part.flight)])
	part.flight = part.flight[:0]
	return nil
}

// decodeCrowd reads the crowd stage's values from their header.
func decodeCrowd(h string, c *engine.Crowd) error {
	if h == "" {
		return errors.New("no " + crowdHeader + " header")
	}
	b, err := base64.RawStdEncoding.DecodeString(h)
	if err != nil {
		return fmt.Errorf("%s header: %w", crowdHeader, err)
	}
	return c.UnmarshalBinary(b)
}
