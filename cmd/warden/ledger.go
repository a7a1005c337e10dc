package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/wardenhq/warden/clientperm"
	"github.com/wardenhq/warden/consent"
	"github.com/wardenhq/warden/datarequest"
	"github.com/wardenhq/warden/internal/sealed"
	"github.com/wardenhq/warden/ledger"
	"github.com/wardenhq/warden/sqlstore"
	"golang.org/x/term"
)

// ledgers is what the calls of CONTRACT §8 served here need: the
// data-access ledger (its checkpoints signed with the ES256 keys under
// DIR/keys/ledger, sealed with box.key like the receipt keys) and data
// requests over every store of personal data.
type ledgers struct {
	access   *ledger.Service
	requests *datarequest.Service
	keys     *consent.Keyring
}

// ledgerKeyDir is where the checkpoint-signing keys live under --data.
func ledgerKeyDir(data string) string { return filepath.Join(data, "keys", "ledger") }

func openLedgers(data string, st *sqlstore.DB) (*ledgers, error) {
	box, err := sealed.OpenBox(filepath.Join(data, "keys"), "box.key")
	if err != nil {
		return nil, fmt.Errorf("ledger keys: %w", err)
	}
	ring, err := consent.OpenKeyring(ledgerKeyDir(data), box, 0)
	if err != nil {
		return nil, err
	}
	access := ledger.New(ledger.Options{DB: st, Keys: ring})
	requests := datarequest.New(datarequest.Options{DB: st, Sources: datarequest.StoreSources(st, access)})
	// The client-permission ledger's Source is added by mountRoutes, which
	// builds that service (permissionSource).
	return &ledgers{access: access, requests: requests, keys: ring}, nil
}

// start runs the ledgers' background work until ctx ends: a checkpoint a
// minute (when entries came), the actor counters rebuilt from the last
// window, and data-request reminders every hour.
func (l *ledgers) start(ctx context.Context, logger *slog.Logger, reg prometheus.Registerer) {
	l.access.SetLogger(logger)
	l.requests.SetLogger(logger)
	if reg != nil {
		reg.MustRegister(l.access.Collectors()...)
		reg.MustRegister(l.requests.Collectors()...)
	}
	if err := l.access.Rebuild(ctx); err != nil {
		logger.Error("access ledger counters not rebuilt", "err", err)
	}
	go l.access.RunCheckpoints(ctx, time.Minute)
	go l.requests.RunReminders(ctx, time.Hour)
}

// verifyLedger runs `warden ledger verify`: it reports on out and says
// whether the ledger verified.
func verifyLedger(ctx context.Context, data, dbURL string, asJSON bool, out, errOut io.Writer, progress bool) (bool, error) {
	st, err := openStore(ctx, data, dbURL, nil)
	if err != nil {
		return false, err
	}
	defer st.Close()
	var set *jose.JSONWebKeySet
	signed := false
	if fi, err := os.Stat(ledgerKeyDir(data)); err == nil && fi.IsDir() {
		box, err := sealed.OpenBox(filepath.Join(data, "keys"), "box.key")
		if err != nil {
			return false, err
		}
		ring, err := consent.OpenKeyring(ledgerKeyDir(data), box, 0)
		if err != nil {
			return false, err
		}
		s, err := ring.JWKS()
		if err != nil {
			return false, err
		}
		set, signed = &s, true
	}
	var bar *progressbar.ProgressBar
	rep, err := ledger.Verify(ctx, st, set, func(done, total int64) {
		if !progress {
			return
		}
		if bar == nil {
			bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(errOut), progressbar.OptionSetDescription("entries"), progressbar.OptionShowCount())
		}
		bar.Set64(done)
	})
	if bar != nil {
		bar.Finish()
		fmt.Fprintln(errOut)
	}
	if err != nil {
		return false, err
	}
	if asJSON {
		v := struct {
			ledger.Report
			Signatures bool `json:"signatures_checked"`
		}{rep, signed}
		return rep.OK, json.NewEncoder(out).Encode(v)
	}
	sig := "signatures checked"
	if !signed {
		sig = "signatures not checked: no keys/ledger under --data"
	}
	if rep.OK {
		fmt.Fprintf(out, "ledger verifies: %d entries in %d chains (%d erased), %d checkpoints (%s)\n", rep.Entries, rep.Chains, rep.Erased, rep.Checkpoints, sig)
	} else {
		fmt.Fprintf(out, "ledger does NOT verify: %s\n", rep.Problem)
	}
	return rep.OK, nil
}

// errLedgerBroken makes `warden ledger verify` exit 1.
var errLedgerBroken = errors.New("the access ledger does not verify")

func init() {
	cmd := &cobra.Command{Use: "ledger", Short: "The data-access ledger: verify its hash chains and signed checkpoints"}
	var data, dbURL string
	var asJSON bool
	verify := &cobra.Command{
		Use:   "verify [--data DIR | --db URL] [--json]",
		Short: "Check every hash chain of the access ledger and its signed checkpoints",
		Long: "Reads the access ledger in order and checks that each entry follows the one before it in its user's\n" +
			"chain, that its hash is that of its fields, and that every signed checkpoint (keys under DIR/keys/ledger)\n" +
			"matches the chains. Exits 0 when all verify, or 1 naming the first entry or checkpoint that does not\n" +
			"(an edited, removed or reordered entry).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := envDefaults(cmd); err != nil {
				return err
			}
			progress := !asJSON && term.IsTerminal(int(os.Stderr.Fd()))
			ok, err := verifyLedger(cmd.Context(), data, dbURL, asJSON, cmd.OutOrStdout(), os.Stderr, progress)
			if err != nil {
				return err
			}
			if !ok {
				return errLedgerBroken
			}
			return nil
		},
	}
	verify.Flags().StringVar(&data, "data", "warden-data", "data directory (its warden.db, and keys/ledger for the checkpoint signatures)")
	verify.Flags().StringVar(&dbURL, "db", "", "database URL (postgres://…); default SQLite under --data")
	verify.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	cmd.AddCommand(verify)
	root.AddCommand(cmd)
}

// permissionSource puts the client-permission ledger's records of a user
// into data-request exports and erasures.
type permissionSource struct{ perms *clientperm.Service }

func (permissionSource) Section() string { return "permission_records" }

func (p permissionSource) Export(ctx context.Context, user string) (any, error) {
	return p.perms.Export(ctx, user)
}

func (p permissionSource) Erase(ctx context.Context, user string) (datarequest.Erased, error) {
	n, err := p.perms.Erase(ctx, user)
	return datarequest.Erased{Section: "permission_records", Deleted: int64(n)}, err
}
