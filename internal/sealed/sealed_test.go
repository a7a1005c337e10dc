package sealed

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadKeyMakesOnePrivateKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	k1, err := LoadKey(dir, "box.key")
	if err != nil {
		t.Fatal(err)
	}
	k2, err := LoadKey(dir, "box.key")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k1, k2) || len(k1) != KeySize {
		t.Fatalf("second load gave another key or a short one")
	}
	fi, err := os.Stat(filepath.Join(dir, "box.key"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	os.Chmod(filepath.Join(dir, "box.key"), 0o644)
	if _, err := LoadKey(dir, "box.key"); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a world-readable key loaded: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "short.key"), []byte("abc"), 0o600)
	if _, err := LoadKey(dir, "short.key"); err == nil {
		t.Error("a 3-byte key loaded")
	}
}

func TestBoxSealsAndBinds(t *testing.T) {
	b, err := OpenBox(t.TempDir(), "box.key")
	if err != nil {
		t.Fatal(err)
	}
	s := b.Seal([]byte("JBSWY3DPEHPK3PXP"), []byte("user:u1"))
	if bytes.Contains(s, []byte("JBSWY3DP")) {
		t.Fatal("the sealed value contains the plaintext")
	}
	p, err := b.Open(s, []byte("user:u1"))
	if err != nil || string(p) != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("open: %q %v", p, err)
	}
	if _, err := b.Open(s, []byte("user:u2")); !errors.Is(err, ErrOpen) {
		t.Errorf("opened under another user's binding: %v", err)
	}
	s[len(s)-1] ^= 1
	if _, err := b.Open(s, []byte("user:u1")); !errors.Is(err, ErrOpen) {
		t.Errorf("opened an altered value: %v", err)
	}
	other, _ := OpenBox(t.TempDir(), "box.key")
	if _, err := other.Open(b.Seal([]byte("x"), nil), nil); !errors.Is(err, ErrOpen) {
		t.Errorf("opened with another key: %v", err)
	}
	if _, err := b.Open([]byte("short"), nil); !errors.Is(err, ErrOpen) {
		t.Errorf("opened a short value: %v", err)
	}
}

func TestMacTokens(t *testing.T) {
	m, err := OpenMac(t.TempDir(), "link.key")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	tok := m.Sign("center", []byte(`{"u":"ana"}`), now.Add(15*time.Minute))
	p, exp, err := m.Verify("center", tok, now)
	if err != nil || string(p) != `{"u":"ana"}` || !exp.Equal(now.Add(15*time.Minute)) {
		t.Fatalf("verify: %q %v %v", p, exp, err)
	}
	if _, _, err := m.Verify("center", tok, now.Add(15*time.Minute)); !errors.Is(err, ErrExpired) {
		t.Errorf("at expiry: %v, want ErrExpired", err)
	}
	if _, _, err := m.Verify("other", tok, now); !errors.Is(err, ErrForged) {
		t.Errorf("another purpose: %v, want ErrForged", err)
	}
	// Change the payload, keep the signature.
	body, sig, _ := strings.Cut(tok, ".")
	forged := m.Sign("center", []byte(`{"u":"bob"}`), now.Add(time.Hour))
	fbody, _, _ := strings.Cut(forged, ".")
	for _, bad := range []string{fbody + "." + sig, body + "." + sig + "x", body, "", ".", body + ".." + sig, strings.Repeat("a", MaxTokenLen+1)} {
		if _, _, err := m.Verify("center", bad, now); !errors.Is(err, ErrForged) {
			t.Errorf("Verify(%.40q) = %v, want ErrForged", bad, err)
		}
	}
	other, _ := OpenMac(t.TempDir(), "link.key")
	if _, _, err := other.Verify("center", tok, now); !errors.Is(err, ErrForged) {
		t.Errorf("another key verified it: %v", err)
	}
}

// FuzzMacVerify: no input panics, and only a token Sign made verifies.
func FuzzMacVerify(f *testing.F) {
	m, err := NewMac(bytes.Repeat([]byte{7}, KeySize))
	if err != nil {
		f.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	good := m.Sign("center", []byte("payload"), now.Add(time.Hour))
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add("AAAAAAAAAAA.AAAA")
	f.Add("..")
	f.Fuzz(func(t *testing.T, tok string) {
		p, _, err := m.Verify("center", tok, now)
		if err != nil {
			if p != nil {
				t.Fatal("a refused token returned a payload")
			}
			return
		}
		// A verified token is exactly the one Sign makes for its payload
		// and expiry: no second spelling of a token passes.
		_, exp, _ := m.Verify("center", tok, now)
		if m.Sign("center", p, exp) != tok {
			t.Fatalf("Verify accepted %q, which Sign does not make", tok)
		}
	})
}
