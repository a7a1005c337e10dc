package notify

import (
	"context"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/wardenhq/warden"
)

func textLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

// smtpServer is a real SMTP server (emersion/go-smtp) on loopback that
// hands every message it accepts to msgs.
func smtpServer(t *testing.T, user, pass string) (addr string, msgs chan *mail.Message) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	msgs = make(chan *mail.Message, 10)
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &session{msgs: msgs, user: user, pass: pass}, nil }))
	s.Domain, s.AllowInsecureAuth = "localhost", true
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return ln.Addr().String(), msgs
}

type session struct {
	msgs       chan *mail.Message
	user, pass string
	authed     bool
}

func (s *session) AuthMechanisms() []string { return []string{"PLAIN"} }
func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != s.user || password != s.pass {
			return smtp.ErrAuthFailed
		}
		s.authed = true
		return nil
	}), nil
}
func (s *session) Mail(from string, opts *smtp.MailOptions) error {
	if s.user != "" && !s.authed {
		return smtp.ErrAuthRequired
	}
	return nil
}
func (s *session) Rcpt(to string, opts *smtp.RcptOptions) error { return nil }
func (s *session) Data(r io.Reader) error {
	m, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	s.msgs <- m
	return nil
}
func (s *session) Reset()        {}
func (s *session) Logout() error { return nil }

func TestMailHasEncodedSubjectDateAndMessageID(t *testing.T) {
	addr, msgs := smtpServer(t, "warden", "pw")
	now := time.Date(2026, 12, 6, 9, 30, 0, 0, time.UTC)
	m := &Mail{Addr: addr, From: "trust@example.com", Username: "warden", Password: "pw", TLS: "opportunistic", Timeout: 5 * time.Second, Now: func() time.Time { return now }}
	if err := m.Check(); err != nil {
		t.Fatal(err)
	}
	payload, _ := MailPayload("Nous avons reçu votre signalement\r\nBcc: evil@example.org", "Merci.\nLigne deux.")
	d := &warden.Delivery{Seq: 7, Ref: "N-1", Channel: warden.ChannelEmail, Target: "u1@example.org", Payload: payload}
	if err := m.Send(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	got := <-msgs
	dec := new(mime.WordDecoder)
	subj, err := dec.DecodeHeader(got.Header.Get("Subject"))
	if err != nil || subj != "Nous avons reçu votre signalement  Bcc: evil@example.org" {
		t.Fatalf("subject %q (raw %q), %v", subj, got.Header.Get("Subject"), err)
	}
	if strings.ContainsRune(got.Header.Get("Subject"), 'ç') {
		t.Fatalf("subject not encoded: %q", got.Header.Get("Subject"))
	}
	if got.Header.Get("Bcc") != "" {
		t.Fatal("a header was injected through the subject")
	}
	if date, err := got.Header.Date(); err != nil || !date.Equal(now) {
		t.Fatalf("Date = %v, %v", date, err)
	}
	if id := got.Header.Get("Message-Id"); id != "<N-1.7@example.com>" {
		t.Fatalf("Message-ID = %q", id)
	}
	if to := got.Header.Get("To"); !strings.Contains(to, "u1@example.org") {
		t.Fatalf("To = %q", to)
	}
	body, _ := io.ReadAll(got.Body)
	if !strings.Contains(string(body), "Ligne deux.") {
		t.Fatalf("body %q", body)
	}

	// Wrong credentials fail the attempt (to be retried), never silently.
	bad := *m
	bad.Password = "nope"
	if err := bad.Send(context.Background(), d); err == nil {
		t.Fatal("sent with a wrong password")
	}
}

// A server that accepts the connection and never answers fails the
// attempt within the timeout rather than hanging the worker.
func TestMailTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // silent
		}
	}()
	m := &Mail{Addr: ln.Addr().String(), From: "trust@example.com", Timeout: 300 * time.Millisecond}
	payload, _ := MailPayload("s", "b")
	start := time.Now()
	err = m.Send(context.Background(), &warden.Delivery{Seq: 1, Ref: "N", Target: "u@example.org", Payload: payload})
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("Send = %v after %v", err, time.Since(start))
	}
}

func TestLegacyMailPayload(t *testing.T) {
	m, err := parseMessage("Subject: Hello\r\nMIME-Version: 1.0\r\n\r\nBody text\r\n")
	if err != nil || m.Subject != "Hello" || m.Body != "Body text" {
		t.Fatalf("%+v %v", m, err)
	}
	if _, err := parseMessage("garbage"); err == nil {
		t.Fatal("garbage parsed")
	}
}
