package main

import (
	"context"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/wardenhq/warden/sqlstore"
)

// envDefaults lets every flag of cmd be set by a WARDEN_* environment
// variable (--admin-addr is WARDEN_ADMIN_ADDR). A flag given on the command
// line wins.
func envDefaults(cmd *cobra.Command) error {
	var err error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		name := "WARDEN_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok && !f.Changed && err == nil {
			if serr := f.Value.Set(v); serr != nil {
				err = usagef("%s=%q: %v", name, v, serr)
			}
		}
	})
	return err
}

// storeFlags adds --data and --db to cmd.
func storeFlags(cmd *cobra.Command, data, db *string) {
	cmd.Flags().StringVar(data, "data", "warden-data", "data directory (SQLite database, engine snapshots)")
	cmd.Flags().StringVar(db, "db", "", "database URL: postgres://… for PostgreSQL; empty for SQLite under --data")
}

func openStore(ctx context.Context, data, db string, logger *slog.Logger) (*sqlstore.DB, error) {
	return sqlstore.Open(ctx, db, data, logger)
}

func newLogger(level string, json bool) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: l}
	if json {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

// withStore reads the environment's defaults for cmd, opens the store named
// by data or db, runs fn on it and closes it.
func withStore(cmd *cobra.Command, data, db string, fn func(st *sqlstore.DB) error) error {
	if err := envDefaults(cmd); err != nil {
		return err
	}
	st, err := openStore(cmd.Context(), data, db, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(st)
}
