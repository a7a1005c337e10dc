package partner

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Key files are kept with mode 0600: the group key lets anyone who holds
// it test a guess of an email against a feed, and the signing key lets
// anyone who holds it publish feeds in this server's name. (The store
// keeps no secret of partner sharing: partners' keys are public keys.)

// checkPrivate refuses a key file others may read.
func checkPrivate(path string, fi fs.FileInfo) error {
	if fi.Mode().Perm()&0o077 != 0 {
		return errorf("%s is readable by others (mode %v): make it private with chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	return nil
}

// ReadGroupKey reads the partner group's key from path: its bytes as they
// are (every partner of the group has the same file), at least MinKeySize
// of them, in a file only its owner may read.
func ReadGroupKey(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("the partner group key: %w", err)
	}
	if err := checkPrivate(path, fi); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("the partner group key: %w", err)
	}
	if len(b) < MinKeySize {
		return nil, errorf("the partner group key in %s is %d bytes; it must be at least %d (make one with: head -c 32 /dev/urandom > %s)", path, len(b), MinKeySize, path)
	}
	return b, nil
}

// LoadSigningKey reads this server's feed signing key (an Ed25519 seed)
// from path, making a new one, mode 0600, when there is none.
func LoadSigningKey(path string) (ed25519.PrivateKey, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		seed := make([]byte, ed25519.SeedSize)
		if _, err := rand.Read(seed); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("the feed signing key: %w", err)
		}
		_, err = f.Write(seed)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("the feed signing key: %w", err)
		}
		return ed25519.NewKeyFromSeed(seed), nil
	}
	if err != nil {
		return nil, fmt.Errorf("the feed signing key: %w", err)
	}
	if err := checkPrivate(path, fi); err != nil {
		return nil, err
	}
	seed, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("the feed signing key: %w", err)
	}
	if len(seed) != ed25519.SeedSize {
		return nil, errorf("%s is not a feed signing key (%d bytes, not an Ed25519 seed of %d)", path, len(seed), ed25519.SeedSize)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// PublicKeyText returns the public key of k as partners register it.
func PublicKeyText(k ed25519.PrivateKey) string {
	return EncodePublicKey(k.Public().(ed25519.PublicKey))
}

// EnsureGroupKey returns the group key at path, first making one (32
// random bytes, mode 0600) if there is none: for a demo, whose server is
// the only member of its group.
func EnsureGroupKey(path string) ([]byte, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		k := make([]byte, MinKeySize)
		if _, err := rand.Read(k); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, k, 0o600); err != nil {
			return nil, fmt.Errorf("the partner group key: %w", err)
		}
	}
	return ReadGroupKey(path)
}
