package partner

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/wardenhq/warden"
)

// Feed is what GET /v1/partners/feed returns (CONTRACT §10): the issuer's
// indicators, each a keyed hash of a normalised value carried by at least
// k distinct accounts the issuer restricted for abuse, and the issuer's
// Ed25519 signature over the rest of the feed (SignedBytes). A feed with
// Since is a delta (the indicators confirmed at or after it), which an
// import merges into the partner's list; one without is the whole list,
// which an import puts in place of the partner's list.
type Feed struct {
	Issuer     string      `json:"issuer"`
	IssuedAt   time.Time   `json:"issued_at"`
	ExpiresAt  time.Time   `json:"expires_at"`
	Since      *time.Time  `json:"since,omitempty"`
	Indicators []Indicator `json:"indicators"`
	Signature  string      `json:"signature"`
}

// Indicator is one shared indicator. Hash is 64 lower-case hex digits.
type Indicator struct {
	Type      string    `json:"type"`
	Hash      string    `json:"hash"`
	FirstSeen time.Time `json:"first_seen"`
	ExpiresAt time.Time `json:"expires_at"`
	Accounts  int       `json:"accounts"`
}

// SignedBytes is what the signature covers: the feed without its
// signature, as compact JSON with the fields in this order: issuer,
// issued_at, expires_at, since (only on a delta), indicators (each type,
// hash, first_seen, expires_at, accounts), times in UTC as RFC 3339 with
// as many fractional digits as they need, no HTML escaping. It is what
// encoding/json writes for these fields (TestSignedBytesIsJSON), written
// by hand because a feed holds millions of indicators.
func (f *Feed) SignedBytes() []byte {
	b := make([]byte, 0, 128+len(f.Indicators)*200)
	b = append(b, `{"issuer":`...)
	b = appendString(b, f.Issuer)
	b = append(b, `,"issued_at":`...)
	b = appendTime(b, f.IssuedAt)
	b = append(b, `,"expires_at":`...)
	b = appendTime(b, f.ExpiresAt)
	if f.Since != nil {
		b = append(b, `,"since":`...)
		b = appendTime(b, *f.Since)
	}
	b = append(b, `,"indicators":[`...)
	for i := range f.Indicators {
		in := &f.Indicators[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"type":`...)
		b = appendString(b, in.Type)
		b = append(b, `,"hash":`...)
		b = appendString(b, in.Hash)
		b = append(b, `,"first_seen":`...)
		b = appendTime(b, in.FirstSeen)
		b = append(b, `,"expires_at":`...)
		b = appendTime(b, in.ExpiresAt)
		b = append(b, `,"accounts":`...)
		b = strconv.AppendInt(b, int64(in.Accounts), 10)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendString appends s as a JSON string: as-is when it needs no
// escaping (types and hashes always), else as encoding/json writes it.
func appendString(b []byte, s string) []byte {
	plain := true
	for i := 0; i < len(s); i++ {
		if !plainJSON[s[i]] {
			plain = false
			break
		}
	}
	if plain {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	var w bytes.Buffer
	enc := json.NewEncoder(&w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		panic(err) // a string always encodes
	}
	return append(b, bytes.TrimSuffix(w.Bytes(), []byte("\n"))...)
}

const sigPrefix = "ed25519:"

// Sign sets f's signature with the issuer's private key.
func (f *Feed) Sign(key ed25519.PrivateKey) {
	f.Signature = sigPrefix + base64.RawURLEncoding.EncodeToString(ed25519.Sign(key, f.SignedBytes()))
}

// Verify checks f's signature with the issuer's public key; a signature
// that does not verify is an EUNVERIFIED error.
func (f *Feed) Verify(pub ed25519.PublicKey) error {
	s, ok := strings.CutPrefix(f.Signature, sigPrefix)
	sig, err := base64.RawURLEncoding.DecodeString(s)
	if !ok || err != nil || len(sig) != ed25519.SignatureSize || len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, f.SignedBytes(), sig) {
		return &warden.Error{Code: warden.EUNVERIFIED, Field: "feed.signature",
			Message: "the feed's signature does not verify with the partner's registered key: the feed was altered, or signed by someone else; fetch it again from the partner, or check the key registered for it"}
	}
	return nil
}

// EncodePublicKey returns pub as "ed25519:" and its unpadded base64url.
func EncodePublicKey(pub ed25519.PublicKey) string {
	return sigPrefix + base64.RawURLEncoding.EncodeToString(pub)
}

// ParsePublicKey parses what EncodePublicKey returns.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(s), sigPrefix)
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if !ok || err != nil || len(b) != ed25519.PublicKeySize {
		return nil, errorf("a partner key is \"ed25519:\" and 43 base64url characters, as `warden partners key` prints it")
	}
	return ed25519.PublicKey(b), nil
}

// MaxIndicators bounds the indicators of one feed.
const MaxIndicators = 20_000_000

// DecodeFeed decodes and checks a feed: unknown fields, a missing issuer,
// signature or time, an unknown type, a hash that is not 64 lower-case hex
// digits (a value in the clear, say), a count of accounts below 1 and a
// repeated indicator are errors naming the field, under prefix (such as
// "feed."). The signature is not verified here (Verify). Times are
// returned in UTC.
func DecodeFeed(body []byte, prefix string) (*Feed, error) {
	var f Feed
	if err := jsonv2.Unmarshal(body, &f, jsonv2.RejectUnknownMembers(true)); err != nil {
		return nil, decodeError(err, prefix)
	}
	if err := f.check(prefix); err != nil {
		return nil, err
	}
	return &f, nil
}

func decodeError(err error, prefix string) error {
	var se *jsonv2.SemanticError
	if errors.As(err, &se) {
		field := prefix + strings.ReplaceAll(strings.TrimPrefix(string(se.JSONPointer), "/"), "/", ".")
		field = strings.TrimSuffix(field, ".")
		if se.Err != nil && strings.Contains(se.Err.Error(), "unknown") {
			return warden.FieldErrorf(field, "%s is not a field of a partner feed: a feed has issuer, issued_at, expires_at, indicators and signature; an indicator type, hash, first_seen, expires_at and accounts", field)
		}
		return warden.FieldErrorf(field, "%s has the wrong type or value: %v", field, clip(err.Error()))
	}
	return warden.Errorf(warden.EINVALID, "the partner feed is not valid JSON: %s", clip(err.Error()))
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

func (f *Feed) check(prefix string) error {
	switch {
	case strings.TrimSpace(f.Issuer) == "" || len(f.Issuer) > 200:
		return warden.FieldErrorf(prefix+"issuer", "issuer is required: who published the feed, at most 200 bytes")
	case f.Signature == "":
		return warden.FieldErrorf(prefix+"signature", "signature is required: an unsigned feed cannot be imported")
	case f.IssuedAt.IsZero():
		return warden.FieldErrorf(prefix+"issued_at", "issued_at is required")
	case f.ExpiresAt.IsZero():
		return warden.FieldErrorf(prefix+"expires_at", "expires_at is required")
	case f.Indicators == nil:
		return warden.FieldErrorf(prefix+"indicators", "indicators is required (an empty list is fine)")
	case len(f.Indicators) > MaxIndicators:
		return warden.FieldErrorf(prefix+"indicators", "a feed carries at most %d indicators", MaxIndicators)
	}
	f.IssuedAt, f.ExpiresAt = f.IssuedAt.UTC(), f.ExpiresAt.UTC()
	if f.Since != nil {
		s := f.Since.UTC()
		f.Since = &s
	}
	var prev [33]byte
	for i := range f.Indicators {
		in := &f.Indicators[i]
		field := func(name string) string { return fmt.Sprintf("%sindicators[%d].%s", prefix, i, name) }
		k := kindIndex(in.Type)
		if k < 0 {
			return warden.FieldErrorf(field("type"), "type %q is not one of %s", clip(in.Type), strings.Join(Kinds, ", "))
		}
		h, ok := parseHash(in.Hash)
		if !ok {
			return warden.FieldErrorf(field("hash"), "hash must be 64 lower-case hexadecimal digits (HMAC-SHA256 with the partner group's key); a feed never carries values in the clear")
		}
		switch {
		case in.FirstSeen.IsZero():
			return warden.FieldErrorf(field("first_seen"), "first_seen is required")
		case in.ExpiresAt.IsZero():
			return warden.FieldErrorf(field("expires_at"), "expires_at is required")
		case in.Accounts < 1:
			return warden.FieldErrorf(field("accounts"), "accounts must be at least 1: how many distinct restricted accounts carry the indicator")
		}
		in.FirstSeen, in.ExpiresAt = in.FirstSeen.UTC(), in.ExpiresAt.UTC()
		// Sorted and each once: a repeat is found without a map of them all.
		var key [33]byte
		key[0] = byte(k)
		copy(key[1:], h[:])
		if i > 0 {
			switch c := bytes.Compare(key[:], prev[:]); {
			case c == 0:
				return warden.FieldErrorf(field("hash"), "indicator %d repeats indicator %d (same type and hash)", i, i-1)
			case c < 0:
				return warden.FieldErrorf(field("hash"), "indicator %d is out of order: a feed lists its indicators by type (%s, in this order), then by hash, each once", i, strings.Join(Kinds, ", "))
			}
		}
		prev = key
	}
	return nil
}

// hexVal maps a lower-case hex digit to its value, anything else to 0xff.
var hexVal = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = byte(c-'a') + 10
	}
	return t
}()

// parseHash parses 64 lower-case hex digits.
func parseHash(s string) ([32]byte, bool) {
	var out [32]byte
	if len(s) != 64 {
		return out, false
	}
	for i := 0; i < 32; i++ {
		hi, lo := hexVal[s[2*i]], hexVal[s[2*i+1]]
		if hi > 15 || lo > 15 {
			return out, false
		}
		out[i] = hi<<4 | lo
	}
	return out, true
}

// plainJSON marks the bytes a JSON string may hold unescaped (printable
// ASCII but the quote and the backslash).
var plainJSON = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// sortIndicators orders indicators as feeds list them: by kind in the
// order of Kinds, then by hash.
func sortIndicators(inds []Indicator) {
	slices.SortFunc(inds, func(a, b Indicator) int {
		if c := kindIndex(a.Type) - kindIndex(b.Type); c != 0 {
			return c
		}
		return strings.Compare(a.Hash, b.Hash)
	})
}
