// Package sealed keeps secrets at rest and signs short-lived tokens, with
// keys that live as files in the data directory: a Box seals values with
// AES-256-GCM (TOTP secrets, receipt-signing keys), and a Mac signs and checks
// expiring tokens with HMAC-SHA-256 (the safety center's links). Each key is
// 32 random bytes in a file of its own, mode 0600, made on first use.
package sealed

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// KeySize is the length of every key, in bytes.
const KeySize = 32

// LoadKey returns the key in dir/name, making it (32 random bytes, mode
// 0600, in a directory of mode 0700) when it does not exist yet. A key file
// of another length, or one that others may read, is an error rather than
// something to repair silently.
func LoadKey(dir, name string) ([]byte, error) {
	path := filepath.Join(dir, name)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createKey(dir, path)
	}
	if err != nil {
		return nil, fmt.Errorf("read key %s: %w", path, err)
	}
	if len(b) != KeySize {
		return nil, fmt.Errorf("key %s is %d bytes, not %d: restore it from a backup or remove it (what it sealed is then lost)", path, len(b), KeySize)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("key %s has mode %v: others may read it; chmod 600 it", path, fi.Mode().Perm())
	}
	return b, nil
}

func createKey(dir, path string) ([]byte, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create key directory: %w", err)
	}
	k := make([]byte, KeySize)
	rand.Read(k)
	// O_EXCL: two processes starting at once must not each write a key and
	// seal with different ones; the loser reads the winner's.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return LoadKey(dir, filepath.Base(path))
	}
	if err != nil {
		return nil, fmt.Errorf("create key %s: %w", path, err)
	}
	if _, err := f.Write(k); err != nil {
		f.Close()
		return nil, fmt.Errorf("write key %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("write key %s: %w", path, err)
	}
	return k, f.Close()
}

// Box seals and opens values with AES-256-GCM. The associated data binds a
// sealed value to where it is stored (a user id, a key id), so a value
// copied to another row does not open there.
type Box struct{ aead cipher.AEAD }

// NewBox returns a Box with key (KeySize bytes).
func NewBox(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("sealed: the key is %d bytes, not %d", len(key), KeySize)
	}
	blk, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(blk)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// OpenBox returns a Box with the key dir/name (see LoadKey).
func OpenBox(dir, name string) (*Box, error) {
	k, err := LoadKey(dir, name)
	if err != nil {
		return nil, err
	}
	return NewBox(k)
}

// Seal returns nonce ‖ ciphertext ‖ tag of plaintext bound to ad.
func (b *Box) Seal(plaintext, ad []byte) []byte {
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(plaintext)+b.aead.Overhead())
	rand.Read(nonce)
	return b.aead.Seal(nonce, nonce, plaintext, ad)
}

// ErrOpen is returned for a sealed value that was altered, sealed with
// another key, or bound to other associated data.
var ErrOpen = errors.New("sealed: the value does not open with this key")

// Open returns the plaintext of a value Seal made with the same ad.
func (b *Box) Open(sealed, ad []byte) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(sealed) < n+b.aead.Overhead() {
		return nil, ErrOpen
	}
	p, err := b.aead.Open(nil, sealed[:n], sealed[n:], ad)
	if err != nil {
		return nil, ErrOpen
	}
	return p, nil
}

// Mac signs and checks expiring tokens: base64url(expiry ‖ payload) "."
// base64url(HMAC-SHA-256). A purpose string is mixed into every MAC, so a
// token made for one use is refused by another.
type Mac struct{ key []byte }

// NewMac returns a Mac with key (at least 32 bytes).
func NewMac(key []byte) (*Mac, error) {
	if len(key) < KeySize {
		return nil, fmt.Errorf("sealed: a MAC key needs %d bytes, got %d", KeySize, len(key))
	}
	return &Mac{key: append([]byte(nil), key...)}, nil
}

// OpenMac returns a Mac with the key dir/name (see LoadKey).
func OpenMac(dir, name string) (*Mac, error) {
	k, err := LoadKey(dir, name)
	if err != nil {
		return nil, err
	}
	return NewMac(k)
}

// Token errors.
var (
	ErrForged  = errors.New("sealed: the token is malformed or its signature does not match")
	ErrExpired = errors.New("sealed: the token has expired")
)

// MaxTokenLen bounds the tokens Verify reads.
const MaxTokenLen = 4096

// Sign returns a token carrying payload until exp, for purpose.
func (m *Mac) Sign(purpose string, payload []byte, exp time.Time) string {
	body := binary.BigEndian.AppendUint64(nil, uint64(exp.Unix()))
	body = append(body, payload...)
	return base64.RawURLEncoding.EncodeToString(body) + "." + base64.RawURLEncoding.EncodeToString(m.sum(purpose, body))
}

// Verify returns the payload of a token Sign made for purpose, and its
// expiry. A token that is malformed or signed otherwise is ErrForged; a
// genuine one past its expiry at now is ErrExpired.
func (m *Mac) Verify(purpose, token string, now time.Time) ([]byte, time.Time, error) {
	if len(token) > MaxTokenLen {
		return nil, time.Time{}, ErrForged
	}
	i := -1
	for j := 0; j < len(token); j++ {
		if token[j] == '.' {
			if i >= 0 {
				return nil, time.Time{}, ErrForged
			}
			i = j
		}
	}
	if i < 0 {
		return nil, time.Time{}, ErrForged
	}
	body, err1 := base64.RawURLEncoding.Strict().DecodeString(token[:i])
	sig, err2 := base64.RawURLEncoding.Strict().DecodeString(token[i+1:])
	if err1 != nil || err2 != nil || len(body) < 8 || !hmac.Equal(sig, m.sum(purpose, body)) {
		return nil, time.Time{}, ErrForged
	}
	exp := time.Unix(int64(binary.BigEndian.Uint64(body[:8])), 0)
	if !now.Before(exp) {
		return nil, exp, ErrExpired
	}
	return body[8:], exp, nil
}

// Sum returns HMAC-SHA-256 of data under purpose: a keyed hash, for values
// stored so that only this key's holder can check a guess (recovery codes).
func (m *Mac) Sum(purpose string, data []byte) []byte { return m.sum(purpose, data) }

func (m *Mac) sum(purpose string, body []byte) []byte {
	h := hmac.New(sha256.New, m.key)
	h.Write([]byte(purpose))
	h.Write([]byte{0})
	h.Write(body)
	return h.Sum(nil)
}
