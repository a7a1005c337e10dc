// Package notify delivers the outbox that every feature writes to: user
// notifications (receipts, decisions, statements of reasons, exposure
// notices, later consent and 2FA messages) and the machine events the
// platform acts on (decision.created, restriction.lifted).
//
// Features insert deliveries in the same transaction as the change they
// report; a Worker claims due rows with a lease, sends each by webhook
// (Standard Webhooks signatures) or e-mail, retries with backoff and
// dead-letters after MaxAttempts. Claims make it safe to run a worker in
// every process on one PostgreSQL: a row is sent by one worker at a time.
// Delivery is at least once: a worker that dies after sending and before
// recording the outcome leaves the row to be sent again when its lease runs
// out, with the same webhook-id and Message-ID, so the receiver can drop the
// copy.
package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/wardenhq/warden"
)

// Outbox is what a Worker needs of the store (sqlstore.DB).
type Outbox interface {
	// ClaimDeliveries leases up to limit due pending deliveries to owner
	// until leaseUntil, skipping rows another worker holds.
	ClaimDeliveries(ctx context.Context, owner string, now, leaseUntil warden.Micros, limit int) ([]warden.Delivery, error)
	// SettleDelivery records owner's attempt; false when the lease was lost.
	SettleDelivery(ctx context.Context, d *warden.Delivery, owner string) (bool, error)
	// OutboxDepth counts pending and dead-lettered deliveries.
	OutboxDepth(ctx context.Context) (pending, dead int, err error)
}

// Sender sends one delivery over its channel.
type Sender interface {
	Send(ctx context.Context, d *warden.Delivery) error
}

// Delivery policy: attempts back off exponentially from a second to an
// hour, with jitter so that a recovering endpoint is not hit by every
// retry at once; after MaxAttempts the delivery is dead-lettered.
const (
	MaxAttempts  = 10
	firstBackoff = time.Second
	maxBackoff   = time.Hour
)

// Backoff is the wait before attempt+1 after attempt failures.
func Backoff(attempt int) time.Duration {
	d := firstBackoff << min(max(attempt-1, 0), 20)
	if d > maxBackoff || d <= 0 {
		d = maxBackoff
	}
	return d/2 + mrand.N(d/2+1)
}

// Options configure a Worker. Outbox is required; a channel without a
// sender is not configured, and nothing is queued for it.
type Options struct {
	Outbox  Outbox
	Webhook *Webhook
	Mail    *Mail
	// Owner names this worker in leases; host, pid and a random suffix if
	// empty.
	Owner string
	// Lease is how long a claim holds: longer than the slowest attempt (a
	// webhook times out after 10 s, SMTP after 30 s). 2 minutes if zero.
	Lease time.Duration
	// Batch is how many rows one claim takes; 50 if zero.
	Batch      int
	Now        func() time.Time
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Worker drains the outbox.
type Worker struct {
	opt     Options
	senders map[string]Sender
	wake    chan struct{}
	sent    *prometheus.CounterVec
	depth   *prometheus.GaugeVec

	mu     sync.Mutex
	warned map[int64]bool // deliveries whose first failure was logged
}

// New returns a Worker.
func New(opt Options) *Worker {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Lease <= 0 {
		opt.Lease = 2 * time.Minute
	}
	if opt.Batch <= 0 {
		opt.Batch = 50
	}
	if opt.Owner == "" {
		host, _ := os.Hostname()
		var b [4]byte
		crand(b[:])
		opt.Owner = fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	w := &Worker{opt: opt, senders: map[string]Sender{}, wake: make(chan struct{}, 1), warned: map[int64]bool{},
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "warden_deliveries_total",
			Help: "Delivery attempts by channel, kind (notification or machine event) and outcome (delivered, retry, dead, lease_lost)."},
			[]string{"channel", "kind", "outcome"}),
		depth: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "warden_outbox_depth",
			Help: "Deliveries in the outbox by status (pending, dead), as of the worker's last pass."}, []string{"status"}),
	}
	if opt.Webhook != nil && opt.Webhook.URL != "" {
		w.senders[warden.ChannelWebhook] = opt.Webhook
	}
	if opt.Mail != nil && opt.Mail.Addr != "" {
		w.senders[warden.ChannelEmail] = opt.Mail
	}
	if opt.Registerer != nil {
		opt.Registerer.MustRegister(w.sent, w.depth)
	}
	return w
}

func crand(b []byte) {
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
}

// Has reports whether channel is configured.
func (w *Worker) Has(channel string) bool {
	if w == nil {
		return false
	}
	_, ok := w.senders[channel]
	return ok
}

// WebhookURL is the configured webhook endpoint, or "".
func (w *Worker) WebhookURL() string {
	if !w.Has(warden.ChannelWebhook) {
		return ""
	}
	return w.opt.Webhook.URL
}

// Kick wakes the worker after a commit that queued deliveries.
func (w *Worker) Kick() {
	if w == nil {
		return
	}
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends: at once after each Kick, and every poll
// interval for retries, scheduled deliveries and rows whose lease ran out.
func (w *Worker) Run(ctx context.Context, poll time.Duration) {
	if poll <= 0 {
		poll = time.Second
	}
	if len(w.senders) == 0 {
		return // the inbox is the only channel
	}
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		if _, err := w.DeliverDue(ctx); err != nil && ctx.Err() == nil {
			w.opt.Logger.Error("delivery", "err", err)
		}
		w.gauge(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-w.wake:
		}
	}
}

func (w *Worker) gauge(ctx context.Context) {
	pending, dead, err := w.opt.Outbox.OutboxDepth(ctx)
	if err != nil {
		return
	}
	w.depth.WithLabelValues(warden.DeliveryPending).Set(float64(pending))
	w.depth.WithLabelValues(warden.DeliveryDead).Set(float64(dead))
}

func (w *Worker) now() warden.Micros { return warden.MicrosOf(w.opt.Now()) }

// DeliverDue claims every due delivery in batches, makes one attempt at
// each and records the outcome; it returns how many were delivered.
func (w *Worker) DeliverDue(ctx context.Context) (int, error) {
	delivered := 0
	for {
		now := w.now()
		due, err := w.opt.Outbox.ClaimDeliveries(ctx, w.opt.Owner, now, now+warden.Micros(w.opt.Lease.Microseconds()), w.opt.Batch)
		if err != nil || len(due) == 0 {
			return delivered, err
		}
		for i := range due {
			ok, err := w.attempt(ctx, &due[i])
			if err != nil {
				return delivered, err
			}
			if ok {
				delivered++
			}
		}
		if len(due) < w.opt.Batch {
			return delivered, nil
		}
	}
}

// attempt sends d once and settles it; it reports whether d was delivered.
func (w *Worker) attempt(ctx context.Context, d *warden.Delivery) (bool, error) {
	s, ok := w.senders[d.Channel]
	var err error
	if !ok {
		err = fmt.Errorf("channel %q is not configured on this server", d.Channel)
	} else {
		err = s.Send(ctx, d)
	}
	if ctx.Err() != nil {
		return false, ctx.Err() // shutting down: the lease runs out and another pass sends it
	}
	d.Attempts++
	now := w.now()
	outcome := "delivered"
	switch {
	case err == nil:
		d.Status, d.DoneAt, d.LastError = warden.DeliveryDelivered, now, ""
	case d.Attempts >= MaxAttempts:
		outcome = "dead"
		d.Status, d.DoneAt, d.LastError = warden.DeliveryDead, now, err.Error()
	default:
		outcome = "retry"
		d.NextAt, d.LastError = now+warden.Micros(Backoff(d.Attempts).Microseconds()), err.Error()
	}
	settled, serr := w.opt.Outbox.SettleDelivery(ctx, d, w.opt.Owner)
	if serr != nil {
		return false, serr
	}
	if !settled {
		outcome = "lease_lost"
		w.opt.Logger.Warn("delivery lease ran out before the attempt was recorded; another worker sends it again",
			"delivery", d.Seq, "channel", d.Channel, "lease", w.opt.Lease)
	}
	w.sent.WithLabelValues(d.Channel, d.Kind, outcome).Inc()
	switch outcome {
	case "retry":
		w.mu.Lock()
		first := !w.warned[d.Seq]
		w.warned[d.Seq] = true
		w.mu.Unlock()
		if first {
			// The first failure is worth a look: a wrong URL or secret
			// fails every delivery, and the retries take hours to give up.
			w.opt.Logger.Warn("delivery failed; retrying with backoff", "delivery", d.Seq, "channel", d.Channel,
				"kind", d.Kind, "attempt", d.Attempts, "next_in", time.Duration(d.NextAt-now)*time.Microsecond, "err", err)
		}
	case "dead":
		w.forget(d.Seq)
		w.opt.Logger.Error("delivery dead-lettered", "delivery", d.Seq, "channel", d.Channel, "kind", d.Kind, "attempts", d.Attempts, "err", err)
	case "delivered":
		w.forget(d.Seq)
	}
	return outcome == "delivered", nil
}

func (w *Worker) forget(seq int64) {
	w.mu.Lock()
	delete(w.warned, seq)
	w.mu.Unlock()
}
