package warden

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits on events, from the contract (CONTRACT §1 and §3).
const (
	MaxIDLen        = 128
	MaxTypeLen      = 64
	MaxActorLen     = 256
	MaxTextBytes    = 64 << 10
	MaxAttrs        = 64
	MaxAttrKeyLen   = 64
	MaxAttrValueLen = 4 << 10
	MaxBatchEvents  = 10000
	MaxBodyBytes    = 16 << 20
)

// Well-known event types. The set is open: any other type is accepted and
// rules may match on it.
const (
	EventSignup        = "signup"
	EventLogin         = "login"
	EventLoginFailed   = "login_failed"
	EventFollow        = "follow"
	EventUnfollow      = "unfollow"
	EventLike          = "like"
	EventComment       = "comment"
	EventPost          = "post"
	EventShare         = "share"
	EventMessage       = "message"
	EventView          = "view"
	EventProfileUpdate = "profile_update"
	EventPasswordReset = "password_reset"
)

// Target kinds.
const (
	TargetAccount = "account"
	TargetContent = "content"
	// TargetCampaign is the subject kind of a campaign case: a coordinated
	// crowd moderated as one case, whose members are accounts.
	TargetCampaign = "campaign"
)

// Event is one thing that happened on the platform (CONTRACT §1, version 1).
// Time is event time: when it happened, not when Warden heard of it; every
// window and every replay uses it.
type Event struct {
	ID         string    `json:"id"`
	Type       string    `json:"type"`
	Time       time.Time `json:"time"`
	Actor      string    `json:"actor"`
	Target     string    `json:"target,omitempty"`
	TargetKind string    `json:"target_kind,omitempty"`
	IP         string    `json:"ip,omitempty"`
	Device     string    `json:"device,omitempty"`
	Country    string    `json:"country,omitempty"`
	Text       string    `json:"text,omitempty"`
	// Attrs holds anything else; values are string, float64 or bool.
	Attrs map[string]any `json:"attrs,omitempty"`
}

// Attr returns the string form of attribute k, or "" when absent.
func (e *Event) Attr(k string) string {
	switch v := e.Attrs[k].(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

// Validate checks e against the contract and normalises it in place: the IP
// to its canonical form, the country to upper case, the time to UTC. The
// returned error is an *Error whose Field is prefixed with prefix.
func (e *Event) Validate(prefix string) error {
	f := func(name string) string { return prefix + name }
	switch {
	case e.ID == "":
		return FieldErrorf(f("id"), "id is required: a unique string per event, used as the idempotency key")
	case len(e.ID) > MaxIDLen:
		return FieldErrorf(f("id"), "id is %d bytes; the limit is %d", len(e.ID), MaxIDLen)
	case e.Type == "":
		return FieldErrorf(f("type"), "type is required, for example \"signup\", \"follow\" or \"comment\"")
	case len(e.Type) > MaxTypeLen:
		return FieldErrorf(f("type"), "type is %d bytes; the limit is %d", len(e.Type), MaxTypeLen)
	case e.Time.IsZero():
		return FieldErrorf(f("time"), "time is required: when the event happened, in RFC 3339 (2026-01-02T15:04:05Z)")
	case e.Actor == "":
		return FieldErrorf(f("actor"), "actor is required: the account that acted, or a stable client id")
	case len(e.Actor) > MaxActorLen:
		return FieldErrorf(f("actor"), "actor is %d bytes; the limit is %d", len(e.Actor), MaxActorLen)
	case len(e.Target) > MaxActorLen:
		return FieldErrorf(f("target"), "target is %d bytes; the limit is %d", len(e.Target), MaxActorLen)
	case e.TargetKind != "" && e.TargetKind != TargetAccount && e.TargetKind != TargetContent:
		return FieldErrorf(f("target_kind"), "target_kind %q is not \"account\" or \"content\"", e.TargetKind)
	case len(e.Device) > MaxActorLen:
		return FieldErrorf(f("device"), "device is %d bytes; the limit is %d", len(e.Device), MaxActorLen)
	case len(e.Text) > MaxTextBytes:
		return FieldErrorf(f("text"), "text is %d bytes; the limit is %d", len(e.Text), MaxTextBytes)
	case len(e.Attrs) > MaxAttrs:
		return FieldErrorf(f("attrs"), "attrs has %d keys; the limit is %d", len(e.Attrs), MaxAttrs)
	}
	for _, s := range [...]struct{ name, v string }{{"id", e.ID}, {"type", e.Type}, {"actor", e.Actor}, {"target", e.Target}, {"device", e.Device}, {"text", e.Text}} {
		if !utf8.ValidString(s.v) {
			return FieldErrorf(f(s.name), "%s is not valid UTF-8", s.name)
		}
		if s.name != "text" && strings.IndexByte(s.v, 0) >= 0 {
			return FieldErrorf(f(s.name), "%s contains a NUL character (\\u0000)", s.name)
		}
	}
	if e.Target == "" && e.TargetKind != "" {
		return FieldErrorf(f("target_kind"), "target_kind is set but target is empty")
	}
	if e.IP != "" {
		a, err := netip.ParseAddr(e.IP)
		if err != nil || a.Zone() != "" {
			return FieldErrorf(f("ip"), "ip %q is not an IPv4 or IPv6 address", clip(e.IP))
		}
		e.IP = a.Unmap().String()
	}
	if e.Country != "" {
		c, ok := normCountry(e.Country)
		if !ok {
			return FieldErrorf(f("country"), "country %q is not an ISO 3166-1 alpha-2 code such as \"US\" or \"JP\"", clip(e.Country))
		}
		e.Country = c
	}
	for k, v := range e.Attrs {
		if k == "" || len(k) > MaxAttrKeyLen || !utf8.ValidString(k) {
			return FieldErrorf(f("attrs"), "attrs keys must be 1..%d bytes of UTF-8", MaxAttrKeyLen)
		}
		switch v := v.(type) {
		case string:
			if len(v) > MaxAttrValueLen || !utf8.ValidString(v) {
				return FieldErrorf(f("attrs."+k), "attrs.%s must be UTF-8 of at most %d bytes", k, MaxAttrValueLen)
			}
		case float64, bool:
		default:
			return FieldErrorf(f("attrs."+k), "attrs.%s must be a string, number or bool", k)
		}
	}
	e.Time = e.Time.UTC()
	return nil
}

func normCountry(c string) (string, bool) {
	if len(c) != 2 {
		return "", false
	}
	b := []byte(c)
	for i, ch := range b {
		switch {
		case ch >= 'A' && ch <= 'Z':
		case ch >= 'a' && ch <= 'z':
			b[i] = ch - 'a' + 'A'
		default:
			return "", false
		}
	}
	// Only assigned alpha-2 codes and the user-assigned XK (Kosovo) pass.
	if _, ok := iso3166[string(b)]; !ok {
		return "", false
	}
	return string(b), true
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// Same reports whether e and o describe the same event: equal fields, the
// same instant (whatever its offset) and equal attributes. A re-sent id
// must carry the same event; one that differs is a conflict, not a retry.
func (e *Event) Same(o *Event) bool {
	if e.ID != o.ID || e.Type != o.Type || !e.Time.Equal(o.Time) || e.Actor != o.Actor || e.Target != o.Target ||
		e.TargetKind != o.TargetKind || e.IP != o.IP || e.Device != o.Device || e.Country != o.Country || e.Text != o.Text ||
		len(e.Attrs) != len(o.Attrs) {
		return false
	}
	for k, v := range e.Attrs {
		w, ok := o.Attrs[k]
		if !ok || v != w {
			return false
		}
	}
	return true
}
