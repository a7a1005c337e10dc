package engine

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/engine/state"
)

//go:generate go run ./internal/envgen

// Env is what a rule expression sees: the event's fields, values derived from
// them, the built-in detectors' features, and the rule set's counters and
// named features. Expressions are type-checked against it before a rule set
// goes live. The names rules may read and the closure compiler's readers are
// generated from this struct, and DetectEnv from detect.Features, into
// fields_gen.go: after changing either, run go generate ./engine. Counter and feature names are rewritten by the compiler into
// indexes of N, B and S, so reading one costs a slice load.
type Env struct {
	Type       string `expr:"type"`
	Actor      string `expr:"actor"`
	Target     string `expr:"target"`
	TargetKind string `expr:"target_kind"`
	IP         string `expr:"ip"`
	// IP24 is the IPv4 /24 (for IPv6 the /48) the address is in, such as
	// "203.0.113.0/24"; "" without an address.
	IP24      string `expr:"ip24"`
	Device    string `expr:"device"`
	Country   string `expr:"country"`
	Text      string `expr:"text"`
	UserAgent string `expr:"user_agent"`
	// TextHash identifies the text up to case, spacing and punctuation,
	// so copy-pasted text with small edits shares it; "" without text.
	TextHash string `expr:"text_hash"`
	TextLen  int    `expr:"text_len"`
	Links    int    `expr:"links"` // URLs in the text
	// AccountAgeHours is the actor's account age at event time, from the
	// account_created attribute (RFC 3339 or unix seconds); -1 if unknown.
	AccountAgeHours float64 `expr:"account_age_hours"`
	Hour            int     `expr:"hour"` // hour of the day of the event, UTC
	// Attrs holds the event's attributes as strings (numbers in decimal,
	// booleans as "true"/"false"); filled only when a rule set reads it.
	Attrs  map[string]string `expr:"attrs"`
	Detect DetectEnv         `expr:"detect"`

	N []float64 `expr:"_n"`
	B []bool    `expr:"_b"`
	S []string  `expr:"_s"`
	// P is the evaluation's partner-call state, passed by the compiler to
	// every partner_listed and partner_trust call.
	P *partnerCtx `expr:"_p"`
}

// builtinFuncs are the functions rules may call besides expr's builtins.
var builtinFuncs = []string{"in_list", "list_match", "has_label", "partner_listed", "partner_trust"}

// envNames are the identifiers Env and the built-in functions take, which
// counters, features and lists may not reuse.
var envNames = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range append(slices.Clone(envFieldNames), builtinFuncs...) {
		m[n] = true
	}
	return m
}()

// needs says which costly derived values a plan reads.
type needs struct {
	textHash, attrs, age, ip24 bool
}

func (n *needs) or(o needs) {
	n.textHash = n.textHash || o.textHash
	n.attrs = n.attrs || o.attrs
	n.age = n.age || o.age
	n.ip24 = n.ip24 || o.ip24
}

// fill sets e from ev, computing only the derived values in nd.
func (e *Env) fill(ev *warden.Event, nd needs) {
	e.Type, e.Actor, e.Target, e.TargetKind = ev.Type, ev.Actor, ev.Target, ev.TargetKind
	e.IP, e.Device, e.Country, e.Text = ev.IP, ev.Device, ev.Country, ev.Text
	e.IP24 = ""
	if nd.ip24 {
		e.IP24 = subnet(ev.IP)
	}
	e.UserAgent = ev.Attr("user_agent")
	e.TextLen = len(ev.Text)
	e.Links = countLinks(ev.Text)
	e.Hour = ev.Time.Hour()
	e.TextHash = ""
	if nd.textHash && ev.Text != "" {
		e.TextHash = textHash(ev.Text)
	}
	e.AccountAgeHours = -1
	if nd.age {
		e.AccountAgeHours = accountAge(ev)
	}
	e.Attrs = nil
	if nd.attrs && len(ev.Attrs) > 0 {
		e.Attrs = make(map[string]string, len(ev.Attrs))
		for k := range ev.Attrs {
			e.Attrs[k] = ev.Attr(k)
		}
	}
	e.Detect = DetectEnv{}
}

func accountAge(ev *warden.Event) float64 {
	var created time.Time
	switch v := ev.Attrs["account_created"].(type) {
	case string:
		t, ok := parseUTC(v)
		if !ok {
			var err error
			if t, err = time.Parse(time.RFC3339, v); err != nil {
				return -1
			}
		}
		created = t
	case float64:
		created = time.Unix(int64(v), 0)
	default:
		return -1
	}
	h := ev.Time.Sub(created).Hours()
	if h < 0 {
		return 0
	}
	return h
}

// parseUTC parses the common "2006-01-02T15:04:05Z" form directly: it is
// on most events, and time.Parse costs more than the rest of the event's
// fields together. Anything else is left to time.Parse.
func parseUTC(s string) (time.Time, bool) {
	if len(s) != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z' {
		return time.Time{}, false
	}
	n := func(i, j int) int {
		v := 0
		for k := i; k < j; k++ {
			c := s[k]
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	y, mo, d, h, mi, se := n(0, 4), n(5, 7), n(8, 10), n(11, 13), n(14, 16), n(17, 19)
	if y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 59 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, se, 0, time.UTC)
	if t.Day() != d {
		return time.Time{}, false // February 30th and the like
	}
	return t, true
}

// subnet returns the /24 of an IPv4 address or the /48 of an IPv6 one.
func subnet(ip string) string {
	if ip == "" {
		return ""
	}
	if i := strings.LastIndexByte(ip, '.'); i > 0 && strings.Count(ip, ".") == 3 {
		return ip[:i] + ".0/24"
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ""
	}
	p, err := a.Prefix(48)
	if err != nil {
		return ""
	}
	return p.String()
}

func countLinks(s string) int {
	n := 0
	for {
		i := strings.Index(s, "http")
		if i < 0 {
			return n
		}
		s = s[i+4:]
		if strings.HasPrefix(s, "://") || strings.HasPrefix(s, "s://") {
			n++
		}
	}
}

// textHash normalises text (case, spacing, punctuation and symbols are
// ignored) and hashes it, so copy-paste waves with cosmetic edits collide.
func textHash(s string) string {
	h := state.Seed
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			// ASCII, most text: fold and hash the byte itself.
			i++
			switch {
			case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
			case c >= 'A' && c <= 'Z':
				c += 'a' - 'A'
			default:
				continue
			}
			h ^= uint64(c)
			h *= 1099511628211
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			continue
		}
		var buf [utf8.UTFMax]byte
		for _, b := range buf[:utf8.EncodeRune(buf[:], unicode.ToLower(r))] {
			h ^= uint64(b)
			h *= 1099511628211
		}
	}
	return strconv.FormatUint(h, 36)
}
