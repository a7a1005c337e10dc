package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/ingest"
)

// Ingest returns the verdict of each event, as JSON, in order, whichever
// node owns the events' partitions. It returns only once every new event
// is durable in the stream and its verdict is in the event log; an id
// already logged gets its first verdict. Errors are *warden.Error: a lost
// NATS connection or an owner that does not answer within VerdictTimeout
// is EUNAVAILABLE (a 503), and a retry with the same ids is safe.
func (n *Node) Ingest(ctx context.Context, evs []warden.Event) ([][]byte, error) {
	if !n.Healthy() {
		n.m.refused.Inc()
		return nil, warden.Errorf(warden.EUNAVAILABLE, "this node has lost its connection to NATS and acknowledges no events until it is back; send the events to another node, or retry")
	}
	out := make([][]byte, len(evs))
	firstIdx, unique, err := ingest.FirstOfEach(evs)
	if err != nil {
		return nil, err
	}
	// Ids already logged are answered from the log, after checking they
	// name the same events, before anything is published.
	ids := make([]string, len(unique))
	for k, i := range unique {
		ids[k] = evs[i].ID
	}
	logged, err := n.cfg.Log.Logged(ctx, ids)
	if err != nil {
		return nil, err
	}
	var pending []int
	for _, i := range unique {
		if l, ok := logged[evs[i].ID]; ok {
			if err := ingest.SameAsLogged(i, &evs[i], l.Body); err != nil {
				return nil, err
			}
			out[i] = l.Verdict
			continue
		}
		pending = append(pending, i)
	}
	if len(pending) > 0 {
		if err := n.publishAndWait(ctx, evs, pending, out); err != nil {
			return nil, err
		}
	}
	for i := range evs {
		if f := firstIdx[evs[i].ID]; f != i {
			out[i] = out[f]
		}
	}
	return out, nil
}

// publishAndWait publishes evs[idx] to the intake and waits for their
// verdicts, writing them into out.
func (n *Node) publishAndWait(ctx context.Context, evs []warden.Event, idx []int, out [][]byte) error {
	deadline := time.Now().Add(n.cfg.VerdictTimeout)
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	tokens := make([]string, len(idx))
	replies := make(chan reply, len(idx))
	n.waitMu.Lock()
	for k := range idx {
		tokens[k] = strconv.FormatUint(n.tok.Add(1), 36)
		n.waiters[tokens[k]] = waiter{ch: replies, k: k}
	}
	n.waitMu.Unlock()
	defer func() {
		n.waitMu.Lock()
		for _, t := range tokens {
			delete(n.waiters, t)
		}
		n.waitMu.Unlock()
	}()
	futures := make([]jetstream.PubAckFuture, len(idx))
	for k, i := range idx {
		body, err := json.Marshal(&evs[i])
		if err != nil {
			return fmt.Errorf("encode event: %w", err)
		}
		msg := &nats.Msg{Subject: intakeSubject, Data: body, Header: nats.Header{replyHeader: []string{n.replyPrefix + tokens[k]}}}
		// A full window of unconfirmed publishes waits, within the deadline.
		stall := max(time.Until(deadline), time.Millisecond)
		if futures[k], err = n.js.PublishMsgAsync(msg, jetstream.WithMsgID(evs[i].ID), jetstream.WithStallWait(stall)); err != nil {
			n.m.refused.Inc()
			return warden.Errorf(warden.EUNAVAILABLE, "the events could not be published to the cluster's stream (%v); nothing was acknowledged, retry", err)
		}
	}
	// Durable in the stream first: a publish the stream did not confirm is
	// not acknowledged.
	poll := make([]bool, len(idx)) // the stream had the id already: its verdict comes from the log
	for k, f := range futures {
		select {
		case ack := <-f.Ok():
			poll[k] = ack.Duplicate
		case err := <-f.Err():
			n.m.refused.Inc()
			return warden.Errorf(warden.EUNAVAILABLE, "the stream did not confirm event %q (%v); retry with the same ids", evs[idx[k]].ID, err)
		case <-ctx.Done():
			n.m.timeouts.Inc()
			return warden.Errorf(warden.EUNAVAILABLE, "the stream did not confirm the events within %s; retry with the same ids", n.cfg.VerdictTimeout)
		}
	}
	// Then the owners' verdicts; a reply can be lost (core NATS), and an
	// id the stream had already was answered to its first publisher, so
	// the log is read for those still missing now and then, and at the end.
	got := 0
	recheck := time.NewTicker(500 * time.Millisecond)
	defer recheck.Stop()
	for _, dup := range poll {
		if dup {
			if err := n.fromLog(ctx, evs, idx, out, &got); err != nil {
				return err
			}
			break
		}
	}
	for got < len(idx) {
		select {
		case r := <-replies:
			if i := idx[r.k]; out[i] == nil {
				out[i] = r.v
				got++
			}
		case <-recheck.C:
			if err := n.fromLog(ctx, evs, idx, out, &got); err != nil && ctx.Err() == nil {
				return err
			}
		case <-ctx.Done():
			if err := n.fromLog(context.Background(), evs, idx, out, &got); err != nil {
				return err
			}
			if got < len(idx) {
				n.m.timeouts.Inc()
				return n.timeoutError(evs, idx, out)
			}
		}
	}
	return nil
}

// reply is an owner's verdict for the k-th event a request waits for.
type reply struct {
	k int
	v []byte
}

// waiter is where the reply to one published event goes.
type waiter struct {
	ch chan reply
	k  int
}

// fromLog fills the verdicts of events in idx that the log has by now.
func (n *Node) fromLog(ctx context.Context, evs []warden.Event, idx []int, out [][]byte, got *int) error {
	var ids []string
	for _, i := range idx {
		if out[i] == nil {
			ids = append(ids, evs[i].ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	logged, err := n.cfg.Log.Logged(ctx, ids)
	if err != nil {
		return err
	}
	for _, i := range idx {
		if l, ok := logged[evs[i].ID]; ok && out[i] == nil {
			if err := ingest.SameAsLogged(i, &evs[i], l.Body); err != nil {
				return err
			}
			out[i] = l.Verdict
			*got++
		}
	}
	return nil
}

// timeoutError names the partitions whose owners did not answer.
func (n *Node) timeoutError(evs []warden.Event, idx []int, out [][]byte) error {
	parts := map[int]bool{}
	for _, i := range idx {
		if out[i] == nil {
			parts[Partition(evs[i].Actor, n.p)] = true
		}
	}
	var ps []string
	for p := range parts {
		ps = append(ps, strconv.Itoa(p))
	}
	sort.Strings(ps)
	return warden.Errorf(warden.EUNAVAILABLE, "no verdict within %s from the crowd stage or the owner of partition(s) %s (a node may be failing over); "+
		"the events are durable in the stream and will be evaluated once: retry with the same ids to get their verdicts", n.cfg.VerdictTimeout, strings.Join(ps, ", "))
}

// onReply hands an owner's verdict to the request waiting for it.
func (n *Node) onReply(m *nats.Msg) {
	tok := m.Subject[len(n.replyPrefix):]
	n.waitMu.Lock()
	w, ok := n.waiters[tok]
	n.waitMu.Unlock()
	if ok {
		select {
		case w.ch <- reply{k: w.k, v: m.Data}:
		default:
		}
	}
}
