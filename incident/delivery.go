package incident

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/smtp"
	"strconv"
	"strings"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/sqlstore"
)

// Webhook is the platform's endpoint for notifications. Each call carries
// Warden-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body" under
// Secret>, so the platform can check origin and reject replays.
type Webhook struct {
	URL    string
	Secret string
}

// SMTP configures e-mail delivery.
type SMTP struct {
	Addr     string // host:port
	From     string
	Username string // PLAIN auth when set
	Password string
}

// Delivery policy: attempts back off exponentially from a second to an
// hour, with jitter so that a recovering endpoint is not hit by every
// retry at once; after MaxAttempts the delivery is dead-lettered.
const (
	MaxAttempts  = 10
	firstBackoff = time.Second
	maxBackoff   = time.Hour
)

func backoff(attempt int) time.Duration {
	d := firstBackoff << min(attempt-1, 20)
	if d > maxBackoff || d <= 0 {
		d = maxBackoff
	}
	return d/2 + rand.N(d/2+1)
}

// Sign returns the Warden-Signature header value for body at time t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a Warden-Signature header against body, accepting
// timestamps within tolerance of now. Platforms can copy it.
func Verify(secret, header string, body []byte, now time.Time, tolerance time.Duration) bool {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || now.Sub(time.Unix(sec, 0)).Abs() > tolerance {
		return false
	}
	want := Sign(secret, time.Unix(sec, 0), body)
	return hmac.Equal([]byte(want), []byte("t="+ts+",v1="+sig))
}

// webhookPayload is what the platform receives for a notification.
type webhookPayload struct {
	Type         string               `json:"type"`
	Notification *warden.Notification `json:"notification"`
}

func (s *Service) queueDelivery(ctx context.Context, t *sqlstore.IncidentTx, n *warden.Notification) error {
	now := n.CreatedAt
	if s.opt.Webhook.URL != "" {
		body, err := json.Marshal(webhookPayload{Type: "notification", Notification: n})
		if err != nil {
			return err
		}
		if err := t.InsertDelivery(ctx, &sqlstore.Delivery{Notification: n.ID, Channel: "webhook", Target: s.opt.Webhook.URL,
			Payload: string(body), Status: sqlstore.DeliveryPending, NextAt: now, CreatedAt: now}); err != nil {
			return err
		}
	}
	if s.opt.SMTP.Addr != "" {
		email, err := t.Contact(ctx, n.UserID)
		if err != nil || email == "" {
			return err
		}
		msg := "Subject: " + mimeHeader(n.Title) + "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + n.Body + "\r\n"
		return t.InsertDelivery(ctx, &sqlstore.Delivery{Notification: n.ID, Channel: "email", Target: email,
			Payload: msg, Status: sqlstore.DeliveryPending, NextAt: now, CreatedAt: now})
	}
	return nil
}

// mimeHeader keeps a header on one line.
func mimeHeader(s string) string {
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
}

// kick wakes the delivery worker after a commit that queued deliveries.
func (s *Service) kick() {
	if s.opt.Webhook.URL == "" && s.opt.SMTP.Addr == "" {
		return
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// RunDelivery delivers queued notifications until ctx ends: at once after
// each commit, and every poll interval for retries. Run one per process.
func (s *Service) RunDelivery(ctx context.Context, poll time.Duration) {
	if poll <= 0 {
		poll = time.Second
	}
	if s.opt.Webhook.URL == "" && s.opt.SMTP.Addr == "" {
		return // nothing to deliver to: the inbox is the only channel
	}
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		if _, err := s.DeliverDue(ctx); err != nil && ctx.Err() == nil {
			s.opt.Logger.Error("notification delivery", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-s.wake:
		}
	}
}

// DeliverDue makes one attempt at every delivery that is due and returns how
// many succeeded.
func (s *Service) DeliverDue(ctx context.Context) (int, error) {
	delivered := 0
	for {
		due, err := s.db.DueDeliveries(ctx, s.clock(), 100)
		if err != nil || len(due) == 0 {
			return delivered, err
		}
		for i := range due {
			d := &due[i]
			err := s.attempt(ctx, d)
			d.Attempts++
			now := s.clock()
			switch {
			case err == nil:
				d.Status, d.DoneAt, d.LastError = sqlstore.DeliveryDelivered, now, ""
				delivered++
			case d.Attempts >= MaxAttempts:
				d.Status, d.DoneAt, d.LastError = sqlstore.DeliveryDead, now, err.Error()
				s.opt.Logger.Warn("notification dead-lettered", "delivery", d.Seq, "channel", d.Channel, "err", err)
			default:
				d.NextAt, d.LastError = now+warden.Micros(backoff(d.Attempts).Microseconds()), err.Error()
			}
			if err := s.db.UpdateDelivery(ctx, d); err != nil {
				return delivered, err
			}
		}
		if len(due) < 100 {
			return delivered, nil
		}
	}
}

func (s *Service) attempt(ctx context.Context, d *sqlstore.Delivery) error {
	switch d.Channel {
	case "webhook":
		body := []byte(d.Payload)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.Target, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Warden-Signature", Sign(s.opt.Webhook.Secret, s.now(), body))
		req.Header.Set("Warden-Delivery", strconv.FormatInt(d.Seq, 10))
		resp, err := s.opt.HTTPClient.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("webhook answered %s", resp.Status)
		}
		return nil
	case "email":
		var auth smtp.Auth
		if s.opt.SMTP.Username != "" {
			host, _, _ := strings.Cut(s.opt.SMTP.Addr, ":")
			auth = smtp.PlainAuth("", s.opt.SMTP.Username, s.opt.SMTP.Password, host)
		}
		msg := "From: " + s.opt.SMTP.From + "\r\nTo: " + d.Target + "\r\n" + d.Payload
		return smtp.SendMail(s.opt.SMTP.Addr, auth, s.opt.SMTP.From, []string{d.Target}, []byte(msg))
	}
	return fmt.Errorf("unknown channel %q", d.Channel)
}

// DeadLetters lists deliveries that were given up on, newest first.
func (s *Service) DeadLetters(ctx context.Context, limit int) ([]sqlstore.Delivery, error) {
	return s.db.Deliveries(ctx, sqlstore.DeliveryDead, limit)
}

// RetryDelivery puts a dead-lettered delivery back in the queue.
func (s *Service) RetryDelivery(ctx context.Context, seq int64) error {
	ok, err := s.db.RetryDelivery(ctx, seq, s.clock())
	if err != nil {
		return err
	}
	if !ok {
		return warden.Errorf(warden.ENOTFOUND, "no dead-lettered delivery %d", seq)
	}
	s.kick()
	return nil
}
