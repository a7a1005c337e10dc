package partner

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// STIX 2.1 (OASIS, 2021) export of a feed. No maintained Go STIX 2.1
// library fits (the one on pkg.go.dev, TcM1911/stix2, is unmaintained and
// would be a dependency this project does not pin), and a feed needs three
// object types, so the bundle is written here and checked in tests against
// the rules of the STIX 2.1 JSON schemas it must meet
// (testdata/stix21-subset.schema.json).
//
// The values are keyed hashes, which no STIX cyber-observable carries, so
// each indicator's pattern reads a custom observable type:
//
//	[x-warden-hashed-value:kind = 'email' AND x-warden-hashed-value:hmac_sha256 = '…']

// stixNamespace is the UUIDv5 namespace STIX 2.1 defines for
// deterministic identifiers (§2.9).
var stixNamespace = [16]byte{0x00, 0xab, 0xed, 0xb4, 0xaa, 0x42, 0x46, 0x6c, 0x9c, 0x01, 0xfe, 0xd2, 0x33, 0x15, 0xa9, 0xb7}

// stixID returns typ--UUIDv5(namespace, name): the same indicator of the
// same issuer keeps its id from one feed to the next.
func stixID(typ, name string) string {
	h := sha1.New()
	h.Write(stixNamespace[:])
	h.Write([]byte(name))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return typ + "--" + string(b[:])
}

// stixTime is a STIX timestamp, in UTC with millisecond precision (which
// created and modified require).
func stixTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

type stixBundle struct {
	Type    string `json:"type"`
	ID      string `json:"id"`
	Objects []any  `json:"objects"`
}

type stixIdentity struct {
	Type          string `json:"type"`
	SpecVersion   string `json:"spec_version"`
	ID            string `json:"id"`
	Created       string `json:"created"`
	Modified      string `json:"modified"`
	Name          string `json:"name"`
	IdentityClass string `json:"identity_class"`
}

type stixIndicator struct {
	Type           string   `json:"type"`
	SpecVersion    string   `json:"spec_version"`
	ID             string   `json:"id"`
	CreatedByRef   string   `json:"created_by_ref"`
	Created        string   `json:"created"`
	Modified       string   `json:"modified"`
	Name           string   `json:"name"`
	IndicatorTypes []string `json:"indicator_types"`
	Pattern        string   `json:"pattern"`
	PatternType    string   `json:"pattern_type"`
	PatternVersion string   `json:"pattern_version"`
	ValidFrom      string   `json:"valid_from"`
	ValidUntil     string   `json:"valid_until"`
	Accounts       int      `json:"x_warden_accounts"`
}

// STIX returns f as a STIX 2.1 bundle: an identity for the issuer and one
// indicator per indicator of f, created by it, valid from its first_seen
// until its expires_at. The feed's signature is not part of it: Warden
// imports the signed JSON feed; the bundle is for threat-intelligence tools.
func (f *Feed) STIX() ([]byte, error) {
	who := stixIdentity{Type: "identity", SpecVersion: "2.1", ID: stixID("identity", f.Issuer),
		Created: stixTime(f.IssuedAt), Modified: stixTime(f.IssuedAt), Name: f.Issuer, IdentityClass: "organization"}
	b := stixBundle{Type: "bundle", ID: stixID("bundle", f.Issuer+"\x00"+f.Signature), Objects: make([]any, 0, len(f.Indicators)+1)}
	b.Objects = append(b.Objects, who)
	for _, in := range f.Indicators {
		from, until := in.FirstSeen, in.ExpiresAt
		if !until.After(from) {
			until = from.Add(time.Millisecond) // valid_until must follow valid_from
		}
		modified := f.IssuedAt
		if modified.Before(from) {
			modified = from
		}
		b.Objects = append(b.Objects, stixIndicator{Type: "indicator", SpecVersion: "2.1",
			ID: stixID("indicator", f.Issuer+"\x00"+in.Type+"\x00"+in.Hash), CreatedByRef: who.ID,
			Created: stixTime(from), Modified: stixTime(modified),
			Name:           fmt.Sprintf("%s listed by %s (keyed hash)", in.Type, f.Issuer),
			IndicatorTypes: []string{"malicious-activity"},
			Pattern:        fmt.Sprintf("[x-warden-hashed-value:kind = '%s' AND x-warden-hashed-value:hmac_sha256 = '%s']", in.Type, in.Hash),
			PatternType:    "stix", PatternVersion: "2.1",
			ValidFrom: stixTime(from), ValidUntil: stixTime(until), Accounts: in.Accounts})
	}
	return json.Marshal(b)
}
