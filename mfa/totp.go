// Package mfa is two-factor authentication for the platform's users (and
// for anything else that names its users by a string, such as the console):
// TOTP enrolment and verification (RFC 6238: SHA-1, 6 digits, 30 s, through
// github.com/pquerna/otp), ten single-use recovery codes stored as keyed
// hashes, replay refusal (a code is accepted once), failures rate-limited per
// user in the store (so every replica sees them), secrets sealed with
// AES-256-GCM, and the education funnel's counts. It has no HTTP
// dependencies: httpapi and web call it.
package mfa

import (
	"crypto/subtle"
	"encoding/base32"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
)

// The TOTP parameters of CONTRACT §7: RFC 6238's defaults, which every
// authenticator app supports.
const (
	Period     = 30 // seconds
	Digits     = otp.DigitsSix
	SecretSize = 20 // bytes: RFC 4226 recommends 160 bits
	// Skew is how many steps either side of now a code may be from, for
	// clocks that drift and people who type slowly.
	Skew = 1
)

// NewKey makes a TOTP key (a random secret) for account at issuer. Its
// Secret is base32 without padding; its URL the otpauth:// URI an
// authenticator app reads.
func NewKey(issuer, account string) (*otp.Key, error) {
	return totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account, Period: Period,
		SecretSize: SecretSize, Digits: Digits, Algorithm: otp.AlgorithmSHA1})
}

// KeyURI returns the otpauth:// URI of secret (base32) for account at
// issuer, as NewKey's URL does.
func KeyURI(issuer, account, secret string) (string, error) {
	raw, err := decodeSecret(secret)
	if err != nil {
		return "", err
	}
	k, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account, Period: Period,
		Secret: raw, Digits: Digits, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return "", err
	}
	return k.URL(), nil
}

func decodeSecret(secret string) ([]byte, error) {
	s := strings.ToUpper(strings.TrimRight(secret, "="))
	return base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(s)
}

// Step is the RFC 6238 time step of t.
func Step(t time.Time) int64 { return t.Unix() / Period }

// Code returns the code of secret (base32) at t.
func Code(secret string, t time.Time) (string, error) {
	return totp.GenerateCodeCustom(secret, t, totp.ValidateOpts{Period: Period, Digits: Digits, Algorithm: otp.AlgorithmSHA1})
}

// Match reports which time step within Skew of t the code belongs to.
// The caller refuses a step at or before the last one it accepted: that is
// what makes a code single-use. code must be Digits decimal digits.
func Match(secret, code string, t time.Time) (step int64, ok bool) {
	if len(code) != Digits.Length() || strings.Trim(code, "0123456789") != "" {
		return 0, false
	}
	now := Step(t)
	opts := hotp.ValidateOpts{Digits: Digits, Algorithm: otp.AlgorithmSHA1}
	// Every candidate is computed, so the time taken does not tell which
	// one matched.
	found := int64(-1)
	for s := now - Skew; s <= now+Skew; s++ {
		if s < 0 {
			continue
		}
		want, err := hotp.GenerateCodeCustom(secret, uint64(s), opts)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && found < 0 {
			found = s
		}
	}
	return found, found >= 0
}
