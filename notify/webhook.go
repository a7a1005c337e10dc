package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wardenhq/warden"
)

// Webhook posts deliveries to the platform's endpoint in the Standard
// Webhooks format (https://www.standardwebhooks.com): headers webhook-id
// (the same on every retry of a delivery, so the receiver can drop
// copies), webhook-timestamp (Unix seconds) and webhook-signature
// ("v1,<base64 HMAC-SHA256 of id.timestamp.body>"). Secret is the shared key:
// "whsec_<base64>" as Standard Webhooks libraries generate it, or any other
// string, whose bytes are the key. Each call also carries the
// Warden-Signature header of earlier releases (see LegacySign).
type Webhook struct {
	URL    string
	Secret string
	// Client sends the calls; one with a 10 s timeout if nil.
	Client *http.Client
	// Now stamps the signature; time.Now if nil.
	Now func() time.Time
}

// Send posts d's payload.
func (h *Webhook) Send(ctx context.Context, d *warden.Delivery) error {
	body := []byte(d.Payload)
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	t := now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	id := MessageID(d)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Warden-Webhooks/1")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(t.Unix(), 10))
	req.Header.Set("webhook-signature", Sign(h.Secret, id, t, body))
	req.Header.Set("Warden-Signature", LegacySign(h.Secret, t, body))
	req.Header.Set("Warden-Delivery", strconv.FormatInt(d.Seq, 10))
	client := h.Client
	if client == nil {
		client = defaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	return nil
}

var defaultClient = &http.Client{Timeout: 10 * time.Second}

// MessageID is the delivery's webhook-id: stable across retries.
func MessageID(d *warden.Delivery) string { return "msg_" + strconv.FormatInt(d.Seq, 10) }

// secretKey is the HMAC key a secret stands for.
func secretKey(secret string) []byte {
	if rest, ok := strings.CutPrefix(secret, "whsec_"); ok {
		if k, err := base64.StdEncoding.DecodeString(rest); err == nil {
			return k
		}
	}
	return []byte(secret)
}

// Sign returns the webhook-signature header for a message.
func Sign(secret, id string, t time.Time, body []byte) string {
	m := hmac.New(sha256.New, secretKey(secret))
	fmt.Fprintf(m, "%s.%d.", id, t.Unix())
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Verify checks a Standard Webhooks request's headers against body:
// the timestamp within tolerance of now, and one of the space-separated
// v1 signatures made with secret. Platforms written in Go can call it; any
// Standard Webhooks library does the same.
func Verify(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	id, ts := h.Get("webhook-id"), h.Get("webhook-timestamp")
	if id == "" || ts == "" || h.Get("webhook-signature") == "" {
		return fmt.Errorf("missing webhook-id, webhook-timestamp or webhook-signature")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("webhook-timestamp %q is not Unix seconds", ts)
	}
	t := time.Unix(sec, 0)
	if now.Sub(t).Abs() > tolerance {
		return fmt.Errorf("webhook-timestamp is %v from now, beyond %v", now.Sub(t).Round(time.Second), tolerance)
	}
	want := Sign(secret, id, t, body)
	for _, sig := range strings.Fields(h.Get("webhook-signature")) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return nil
		}
	}
	return fmt.Errorf("no signature matches")
}

// LegacySign returns the Warden-Signature header of releases before
// Standard Webhooks: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">,
// with the secret's bytes as the key.
func LegacySign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// LegacyVerify checks a Warden-Signature header.
func LegacyVerify(secret, header string, body []byte, now time.Time, tolerance time.Duration) bool {
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
	want := LegacySign(secret, time.Unix(sec, 0), body)
	return hmac.Equal([]byte(want), []byte("t="+ts+",v1="+sig))
}

// Event is the body of a machine event webhook (Standard Webhooks'
// recommended shape): its type, when it happened, and its data.
type Event struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      any       `json:"data"`
}

// EventPayload marshals a machine event.
func EventPayload(typ string, at time.Time, data any) (string, error) {
	b, err := json.Marshal(Event{Type: typ, Timestamp: at.UTC(), Data: data})
	return string(b), err
}
