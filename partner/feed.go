package partner

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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

// signed is the part of a feed the signature covers, in this field order.
type signed struct {
	Issuer     string      `json:"issuer"`
	IssuedAt   time.Time   `json:"issued_at"`
	ExpiresAt  time.Time   `json:"expires_at"`
	Since      *time.Time  `json:"since,omitempty"`
	Indicators []Indicator `json:"indicators"`
}

// SignedBytes is what the signature covers: the feed without its
// signature, as compact JSON in field order, times in UTC.
func (f *Feed) SignedBytes() []byte {
	inds := f.Indicators
	if inds == nil {
		inds = []Indicator{}
	}
	var since *time.Time
	if f.Since != nil {
		s := f.Since.UTC()
		since = &s
	}
	b, err := json.Marshal(signed{Issuer: f.Issuer, IssuedAt: f.IssuedAt.UTC(), ExpiresAt: f.ExpiresAt.UTC(), Since: since, Indicators: inds})
	if err != nil {
		panic(err) // only strings, times and ints
	}
	return b
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
	seen := make(map[[33]byte]int, len(f.Indicators))
	for i := range f.Indicators {
		in := &f.Indicators[i]
		field := fmt.Sprintf("%sindicators[%d].", prefix, i)
		k := kindIndex(in.Type)
		if k < 0 {
			return warden.FieldErrorf(field+"type", "type %q is not one of %s", clip(in.Type), strings.Join(Kinds, ", "))
		}
		h, ok := parseHash(in.Hash)
		if !ok {
			return warden.FieldErrorf(field+"hash", "hash must be 64 lower-case hexadecimal digits (HMAC-SHA256 with the partner group's key); a feed never carries values in the clear")
		}
		switch {
		case in.FirstSeen.IsZero():
			return warden.FieldErrorf(field+"first_seen", "first_seen is required")
		case in.ExpiresAt.IsZero():
			return warden.FieldErrorf(field+"expires_at", "expires_at is required")
		case in.Accounts < 1:
			return warden.FieldErrorf(field+"accounts", "accounts must be at least 1: how many distinct restricted accounts carry the indicator")
		}
		in.FirstSeen, in.ExpiresAt = in.FirstSeen.UTC(), in.ExpiresAt.UTC()
		var key [33]byte
		key[0] = byte(k)
		copy(key[1:], h[:])
		if j, dup := seen[key]; dup {
			return warden.FieldErrorf(field+"hash", "indicator %d repeats indicator %d (same type and hash)", i, j)
		}
		seen[key] = i
	}
	return nil
}

// parseHash parses 64 lower-case hex digits.
func parseHash(s string) ([32]byte, bool) {
	var out [32]byte
	if len(s) != 64 {
		return out, false
	}
	for i := 0; i < 64; i++ {
		c := s[i]
		var v byte
		switch {
		case c >= '0' && c <= '9':
			v = c - '0'
		case c >= 'a' && c <= 'f':
			v = c - 'a' + 10
		default:
			return out, false
		}
		if i%2 == 0 {
			out[i/2] = v << 4
		} else {
			out[i/2] |= v
		}
	}
	return out, true
}

// sortIndicators orders indicators by type, then hash, as feeds list them.
func sortIndicators(inds []Indicator) {
	slices.SortFunc(inds, func(a, b Indicator) int {
		if c := strings.Compare(a.Type, b.Type); c != 0 {
			return c
		}
		return bytes.Compare([]byte(a.Hash), []byte(b.Hash))
	})
}
