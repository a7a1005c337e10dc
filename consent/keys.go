package consent

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/wardenhq/warden/internal/sealed"
)

// Keyring holds the ES256 keys that sign consent receipts, one file each in
// a directory under --data: {"kid", "created", "sealed"}, where sealed is the
// PKCS #8 private key sealed with AES-256-GCM under the data directory's box
// key (bound to the kid), and the file itself has mode 0600. The newest key
// signs; every older one stays, public half only, in the JWKS, so receipts
// signed before a rotation still verify. Another process (`warden receipts
// rotate-key`) may add a key: the ring reloads when the directory changes.
type Keyring struct {
	dir string
	box *sealed.Box

	mu      sync.RWMutex
	keys    []ringKey // oldest first
	modTime time.Time
}

type ringKey struct {
	id      string
	created time.Time
	priv    *ecdsa.PrivateKey
}

type keyFile struct {
	KID     string    `json:"kid"`
	Created time.Time `json:"created"`
	Sealed  string    `json:"sealed"`
}

// OpenKeyring loads the keys in dir, and makes the first one when there is
// none, or a new one when the newest is older than rotateAfter (0: never by
// age).
func OpenKeyring(dir string, box *sealed.Box, rotateAfter time.Duration) (*Keyring, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("receipt keys: %w", err)
	}
	k := &Keyring{dir: dir, box: box}
	if err := k.load(); err != nil {
		return nil, err
	}
	if len(k.keys) == 0 || (rotateAfter > 0 && time.Since(k.keys[len(k.keys)-1].created) > rotateAfter) {
		if _, err := k.Rotate(); err != nil {
			return nil, err
		}
	}
	return k, nil
}

func (k *Keyring) load() error {
	fi, err := os.Stat(k.dir)
	if err != nil {
		return fmt.Errorf("receipt keys: %w", err)
	}
	names, err := filepath.Glob(filepath.Join(k.dir, "*.json"))
	if err != nil {
		return err
	}
	var keys []ringKey
	for _, n := range names {
		rk, err := k.readKey(n)
		if err != nil {
			return err
		}
		keys = append(keys, rk)
	}
	slices.SortFunc(keys, func(a, b ringKey) int { return a.created.Compare(b.created) })
	k.mu.Lock()
	k.keys, k.modTime = keys, fi.ModTime()
	k.mu.Unlock()
	return nil
}

func (k *Keyring) readKey(path string) (ringKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return ringKey{}, fmt.Errorf("receipt key: %w", err)
	}
	var f keyFile
	if err := json.Unmarshal(b, &f); err != nil {
		return ringKey{}, fmt.Errorf("receipt key %s: %w", path, err)
	}
	raw, err := base64.StdEncoding.DecodeString(f.Sealed)
	if err != nil {
		return ringKey{}, fmt.Errorf("receipt key %s: %w", path, err)
	}
	der, err := k.box.Open(raw, []byte("receipt-key:"+f.KID))
	if err != nil {
		return ringKey{}, fmt.Errorf("receipt key %s does not open with this data directory's key (was it copied from another?): %w", path, err)
	}
	p, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return ringKey{}, fmt.Errorf("receipt key %s: %w", path, err)
	}
	ec, ok := p.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return ringKey{}, fmt.Errorf("receipt key %s is not a P-256 key", path)
	}
	return ringKey{id: f.KID, created: f.Created, priv: ec}, nil
}

// Rotate makes a new signing key and returns its kid; older keys keep
// verifying.
func (k *Keyring) Rotate() (string, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	jwk := jose.JSONWebKey{Key: &priv.PublicKey}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", err
	}
	kid := base64.RawURLEncoding.EncodeToString(tp)[:16]
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", err
	}
	f := keyFile{KID: kid, Created: time.Now().UTC(), Sealed: base64.StdEncoding.EncodeToString(k.box.Seal(der, []byte("receipt-key:"+kid)))}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(k.dir, ".new-key-*")
	if err != nil {
		return "", fmt.Errorf("receipt key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return "", err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(k.dir, kid+".json")); err != nil {
		return "", fmt.Errorf("receipt key: %w", err)
	}
	return kid, k.load()
}

// refresh reloads the keys when another process changed the directory.
func (k *Keyring) refresh() error {
	fi, err := os.Stat(k.dir)
	if err != nil {
		return fmt.Errorf("receipt keys: %w", err)
	}
	k.mu.RLock()
	same := fi.ModTime().Equal(k.modTime)
	k.mu.RUnlock()
	if same {
		return nil
	}
	return k.load()
}

// Sign signs payload with the newest key as a compact JWS (ES256, typ JWT,
// kid in the header), and returns the kid.
func (k *Keyring) Sign(payload []byte) (jws, kid string, err error) {
	if err := k.refresh(); err != nil {
		return "", "", err
	}
	k.mu.RLock()
	if len(k.keys) == 0 {
		k.mu.RUnlock()
		return "", "", errors.New("receipt keys: none to sign with")
	}
	cur := k.keys[len(k.keys)-1]
	k.mu.RUnlock()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: cur.priv, KeyID: cur.id}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", "", err
	}
	obj, err := s.Sign(payload)
	if err != nil {
		return "", "", err
	}
	out, err := obj.CompactSerialize()
	return out, cur.id, err
}

// JWKS returns every key's public half, newest first, as a JSON Web Key Set.
func (k *Keyring) JWKS() (jose.JSONWebKeySet, error) {
	if err := k.refresh(); err != nil {
		return jose.JSONWebKeySet{}, err
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	set := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(k.keys))}
	for i := len(k.keys) - 1; i >= 0; i-- {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.keys[i].priv.PublicKey, KeyID: k.keys[i].id, Algorithm: string(jose.ES256), Use: "sig"})
	}
	return set, nil
}

// Verify checks a compact JWS against the ring's public keys (the one its
// kid names) and returns its payload. It is what a platform does with the
// JWKS; Warden uses it to show a receipt as verified.
func (k *Keyring) Verify(compact string) ([]byte, error) {
	set, err := k.JWKS()
	if err != nil {
		return nil, err
	}
	return VerifyReceipt(compact, set)
}

// VerifyReceipt checks a compact JWS (ES256 only) against the key of set
// that its kid names, and returns the payload.
func VerifyReceipt(compact string, set jose.JSONWebKeySet) ([]byte, error) {
	obj, err := jose.ParseSignedCompact(strings.TrimSpace(compact), []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return nil, fmt.Errorf("not a compact ES256 JWS: %w", err)
	}
	if len(obj.Signatures) != 1 {
		return nil, errors.New("a receipt has one signature")
	}
	keys := set.Key(obj.Signatures[0].Header.KeyID)
	if len(keys) == 0 {
		return nil, fmt.Errorf("no published key has kid %q", obj.Signatures[0].Header.KeyID)
	}
	return obj.Verify(keys[0])
}
