package main

import (
	"fmt"
	"path/filepath"

	"github.com/wardenhq/warden/consent"
	"github.com/wardenhq/warden/internal/sealed"
	"github.com/wardenhq/warden/mfa"
	"github.com/wardenhq/warden/sqlstore"
)

// privacy is what the calls of CONTRACT §7 need, opened from the data
// directory: under DIR/keys, box.key seals TOTP secrets and the receipt
// keys, recovery.key hashes recovery codes, center.key signs the center's
// links (each 32 random bytes, mode 0600), and receipts/ holds the ES256
// receipt keys, sealed. Replicas sharing one PostgreSQL need the same keys
// directory.
type privacy struct {
	consent   *consent.Service
	mfa       *mfa.Service
	centerMac *sealed.Mac
}

func openPrivacy(data string, st *sqlstore.DB, policyURL string) (*privacy, error) {
	dir := filepath.Join(data, "keys")
	box, err := sealed.OpenBox(dir, "box.key")
	if err != nil {
		return nil, fmt.Errorf("privacy keys: %w", err)
	}
	recovery, err := sealed.OpenMac(dir, "recovery.key")
	if err != nil {
		return nil, fmt.Errorf("privacy keys: %w", err)
	}
	center, err := sealed.OpenMac(dir, "center.key")
	if err != nil {
		return nil, fmt.Errorf("privacy keys: %w", err)
	}
	ring, err := consent.OpenKeyring(filepath.Join(dir, "receipts"), box, 0)
	if err != nil {
		return nil, err
	}
	return &privacy{
		consent:   consent.New(consent.Options{DB: st, Keys: ring, PolicyURL: policyURL}),
		mfa:       mfa.New(mfa.Options{DB: st, Box: box, Mac: recovery}),
		centerMac: center,
	}, nil
}
