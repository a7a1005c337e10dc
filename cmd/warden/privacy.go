package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"
	"github.com/wardenhq/warden/consent"
	"github.com/wardenhq/warden/internal/sealed"
	"github.com/wardenhq/warden/mfa"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/web"
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
	center    *web.Center // set by mountRoutes when the console is served
	// permMac pseudonymises users in the sensitive-permission ledger
	// (DIR/keys/clientperm.key).
	permMac *sealed.Mac
	// optionalAdmin2FA lets admins use the console without a second factor
	// (serve --admin-2fa=false); by default they enrol first.
	optionalAdmin2FA bool
	// ledgers are the data-access ledger and data requests (CONTRACT §8).
	ledgers *ledgers
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
	permMac, err := sealed.OpenMac(dir, "clientperm.key")
	if err != nil {
		return nil, fmt.Errorf("privacy keys: %w", err)
	}
	ring, err := consent.OpenKeyring(filepath.Join(dir, "receipts"), box, 0)
	if err != nil {
		return nil, err
	}
	led, err := openLedgers(data, st)
	if err != nil {
		return nil, err
	}
	return &privacy{
		consent:   consent.New(consent.Options{DB: st, Keys: ring, PolicyURL: policyURL}),
		mfa:       mfa.New(mfa.Options{DB: st, Box: box, Mac: recovery}),
		centerMac: center,
		permMac:   permMac,
		ledgers:   led,
	}, nil
}

// demoUser is the platform account the demo sets up with a pending
// material change to the terms.
const demoUser = "demo-user"

// demoPrivacy publishes, on a store with no terms yet, two versions of the
// terms for every region: the first accepted by the demo user, the second a
// material change (a new purpose, longer retention), so the demo user is
// pending. It returns a center link for the demo user.
func demoPrivacy(ctx context.Context, p *privacy, origin string) (string, error) {
	st, err := p.consent.Status(ctx, demoUser, consent.AnyRegion)
	if err != nil {
		return "", err
	}
	if len(st.Pending) == 0 && len(st.Current) == 0 {
		decl := consent.Declarations{Purposes: []string{"providing the service", "safety and security"},
			DataCategories: []string{"profile", "messages", "device identifiers"}, Recipients: []string{"cloud hosting provider"},
			Retention: "18 months", Controller: "Example Platform Ltd", Contact: "privacy@example.com"}
		v1, err := p.consent.AddDocument(ctx, nil, consent.DocumentRequest{Kind: consent.KindTerms, Region: consent.AnyRegion, Version: "2026-01",
			Text: "Terms of service\n\nWe use your data to provide the service and keep it safe.\nWe keep it for 18 months.\n", Declares: &decl})
		if err != nil {
			return "", err
		}
		if _, err := p.consent.Decide(ctx, demoUser, consent.DecisionRequest{DocumentID: v1.ID, Decision: consent.Accept, CollectionMethod: "signup form"}); err != nil {
			return "", err
		}
		decl2 := decl
		decl2.Purposes = append(slices.Clone(decl.Purposes), "ads measurement")
		decl2.Recipients = append(slices.Clone(decl.Recipients), "advertising measurement partner")
		decl2.Retention = "24 months"
		if _, err := p.consent.AddDocument(ctx, nil, consent.DocumentRequest{Kind: consent.KindTerms, Region: consent.AnyRegion, Version: "2026-12",
			Text: "Terms of service\n\nWe use your data to provide the service, keep it safe and measure ads.\nWe keep it for 24 months.\n", Declares: &decl2}); err != nil {
			return "", err
		}
	}
	if p.center == nil {
		return "", nil
	}
	u, _ := p.center.Link(origin, demoUser, consent.AnyRegion)
	return u, nil
}

func init() {
	receipts := &cobra.Command{Use: "receipts", Short: "Manage the keys that sign consent receipts"}
	var data string
	var asJSON bool
	rotate := &cobra.Command{
		Use:   "rotate-key [--data DIR] [--json]",
		Short: "Make a new receipt-signing key; older keys keep verifying",
		Long: "Makes a new ES256 key under DIR/keys/receipts (sealed with DIR/keys/box.key, file mode 0600).\n" +
			"New receipts are signed with it, a running server's at once; every older public key stays in\n" +
			"/.well-known/jwks.json, so receipts signed before still verify. Prints the new key id.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := envDefaults(cmd); err != nil {
				return err
			}
			dir := filepath.Join(data, "keys")
			box, err := sealed.OpenBox(dir, "box.key")
			if err != nil {
				return err
			}
			ring, err := consent.OpenKeyring(filepath.Join(dir, "receipts"), box, 0)
			if err != nil {
				return err
			}
			kid, err := ring.Rotate()
			if err != nil {
				return err
			}
			set, err := ring.JWKS()
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{"kid": kid, "keys": len(set.Keys)})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "new receipt key %s (%d keys published)\n", kid, len(set.Keys))
			return nil
		},
	}
	rotate.Flags().StringVar(&data, "data", "warden-data", "data directory (its keys/ holds the receipt keys)")
	rotate.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	receipts.AddCommand(rotate)
	root.AddCommand(receipts)
}
