package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/wardenhq/warden"
	mail "github.com/wneessen/go-mail"
)

// Mail sends e-mail deliveries through an SMTP server with go-mail: the
// subject is encoded (RFC 2047) when it is not ASCII, and every message has
// Date and a Message-ID that stays the same on retries.
type Mail struct {
	Addr     string // host:port
	From     string
	Username string // PLAIN auth when set
	Password string
	// TLS is "opportunistic" (STARTTLS when the server offers it; the
	// default), "mandatory", or "none".
	TLS string
	// Timeout bounds each connection and command; 30 s if zero.
	Timeout time.Duration
	// Now dates the messages; time.Now if nil.
	Now func() time.Time
}

// Message is an e-mail delivery's payload.
type Message struct {
	Subject string `json:"subject"`
	Body    string `json:"body"`
}

// MailPayload marshals an e-mail delivery's payload.
func MailPayload(subject, body string) (string, error) {
	b, err := json.Marshal(Message{Subject: subject, Body: body})
	return string(b), err
}

// parseMessage reads a payload: a Message, or the pre-rendered text
// ("Subject: …\r\n…\r\n\r\nbody") that earlier releases queued.
func parseMessage(p string) (Message, error) {
	var m Message
	if strings.HasPrefix(p, "{") {
		err := json.Unmarshal([]byte(p), &m)
		return m, err
	}
	head, body, ok := strings.Cut(p, "\r\n\r\n")
	if !ok {
		return m, fmt.Errorf("e-mail payload is neither JSON nor a message")
	}
	for _, line := range strings.Split(head, "\r\n") {
		if v, ok := strings.CutPrefix(line, "Subject: "); ok {
			m.Subject = v
		}
	}
	m.Body = strings.TrimSuffix(body, "\r\n")
	return m, nil
}

// Check reports a configuration error before anything is sent.
func (m *Mail) Check() error {
	if _, _, err := m.hostPort(); err != nil {
		return err
	}
	msg := mail.NewMsg()
	if err := msg.From(m.From); err != nil {
		return fmt.Errorf("sender address %q: %w", m.From, err)
	}
	switch m.TLS {
	case "", "opportunistic", "mandatory", "none":
	default:
		return fmt.Errorf("TLS policy %q: use opportunistic, mandatory or none", m.TLS)
	}
	return nil
}

func (m *Mail) hostPort() (string, int, error) {
	host, port, err := net.SplitHostPort(m.Addr)
	if err != nil {
		return "", 0, fmt.Errorf("SMTP address %q: %w", m.Addr, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p <= 0 || p > 65535 {
		return "", 0, fmt.Errorf("SMTP address %q: bad port", m.Addr)
	}
	return host, p, nil
}

// Send mails d to its target.
func (m *Mail) Send(ctx context.Context, d *warden.Delivery) error {
	c, err := parseMessage(d.Payload)
	if err != nil {
		return err
	}
	host, port, err := m.hostPort()
	if err != nil {
		return err
	}
	msg := mail.NewMsg()
	if err := msg.From(m.From); err != nil {
		return fmt.Errorf("sender %q: %w", m.From, err)
	}
	if err := msg.To(d.Target); err != nil {
		return fmt.Errorf("recipient: %w", err)
	}
	msg.Subject(strings.NewReplacer("\r", " ", "\n", " ").Replace(c.Subject))
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	msg.SetDateWithValue(now())
	domain := "warden.invalid"
	if _, dom, ok := strings.Cut(m.From, "@"); ok {
		domain = strings.Trim(dom, "<> ")
	}
	msg.SetMessageIDWithValue(fmt.Sprintf("%s.%d@%s", d.Ref, d.Seq, domain))
	msg.SetBodyString(mail.TypeTextPlain, c.Body)

	timeout := m.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	opts := []mail.Option{mail.WithPort(port), mail.WithTimeout(timeout)}
	switch m.TLS {
	case "mandatory":
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	case "none":
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
	}
	if m.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthPlain), mail.WithUsername(m.Username), mail.WithPassword(m.Password))
	}
	client, err := mail.NewClient(host, opts...)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*timeout)
	defer cancel()
	return client.DialAndSendWithContext(ctx, msg)
}
