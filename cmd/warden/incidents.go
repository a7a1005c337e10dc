package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/wardenhq/warden/incident"
)

// warden transparency statements|report: the same exports as the admin API,
// for an operator with the data directory or the database (a submission job
// to the EU Transparency Database, a report at the end of a half-year).
func init() {
	tr := &cobra.Command{Use: "transparency", Short: "DSA statements of reasons and the transparency report"}
	var data, db, from, to string
	period := func() (time.Time, time.Time, error) {
		f, t := time.Unix(0, 0).UTC(), time.Now().UTC()
		var err error
		if from != "" {
			if f, err = parseDay(from); err != nil {
				return f, t, usagef("--from %q is not RFC 3339 or YYYY-MM-DD", from)
			}
		}
		if to != "" {
			if t, err = parseDay(to); err != nil {
				return f, t, usagef("--to %q is not RFC 3339 or YYYY-MM-DD", to)
			}
		}
		return f, t, nil
	}
	open := func(cmd *cobra.Command) (*incident.Service, func(), error) {
		if err := envDefaults(cmd); err != nil {
			return nil, nil, err
		}
		st, err := openStore(cmd.Context(), data, db, nil)
		if err != nil {
			return nil, nil, err
		}
		svc, err := incident.New(cmd.Context(), incident.Options{DB: st})
		if err != nil {
			st.Close()
			return nil, nil, err
		}
		return svc, func() { st.Close() }, nil
	}
	statements := &cobra.Command{
		Use:   "statements [--data DIR | --db URL] [--from T] [--to T]",
		Short: "Print one DSA statement of reasons per restriction as JSON Lines",
		Long: "Prints the statement of reasons of every restriction decided in [from, to), one JSON object per line,\n" +
			"each valid against the EU Transparency Database schema (batch them 100 at a time to submit).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, t, err := period()
			if err != nil {
				return err
			}
			svc, done, err := open(cmd)
			if err != nil {
				return err
			}
			defer done()
			w := bufio.NewWriterSize(cmd.OutOrStdout(), 1<<16)
			if _, err := svc.WriteStatements(cmd.Context(), w, f, t); err != nil {
				return err
			}
			return w.Flush()
		},
	}
	report := &cobra.Command{
		Use:   "report [--data DIR | --db URL] [--from T] [--to T]",
		Short: "Print the transparency report as JSON",
		Long:  "Notices by category and source, median and p90 hours to action, automated share, appeals and reversals, for [from, to).",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, t, err := period()
			if err != nil {
				return err
			}
			svc, done, err := open(cmd)
			if err != nil {
				return err
			}
			defer done()
			rep, err := svc.TransparencyReport(cmd.Context(), f, t)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(rep)
		},
	}
	var tdbURL string
	submit := &cobra.Command{
		Use:   "submit --url URL [--data DIR | --db URL]",
		Short: "Send new statements of reasons to the EU Transparency Database",
		Long: "Sends every statement of reasons not yet sent, 100 per call, to the Transparency Database API at --url\n" +
			"(https://transparency.dsa.ec.europa.eu/api/v1, or the sandbox's), with the token in WARDEN_TDB_TOKEN.\n" +
			"A send ledger in the store makes it safe to run again: each statement is sent once.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			token := os.Getenv("WARDEN_TDB_TOKEN")
			if tdbURL == "" || token == "" {
				return usagef("give --url and set WARDEN_TDB_TOKEN to the platform's API token")
			}
			svc, done, err := open(cmd)
			if err != nil {
				return err
			}
			defer done()
			n, err := svc.SubmitStatements(cmd.Context(), incident.TDB{URL: tdbURL, Token: token})
			fmt.Fprintf(cmd.OutOrStdout(), "%d statements sent\n", n)
			return err
		},
	}
	storeFlags(submit, &data, &db)
	submit.Flags().StringVar(&tdbURL, "url", "", "the Transparency Database API base URL")
	tr.AddCommand(submit)
	for _, c := range []*cobra.Command{statements, report} {
		storeFlags(c, &data, &db)
		c.Flags().StringVar(&from, "from", "", "start of the period, inclusive (RFC 3339 or YYYY-MM-DD)")
		c.Flags().StringVar(&to, "to", "", "end of the period, exclusive (RFC 3339 or YYYY-MM-DD); default now")
		tr.AddCommand(c)
	}
	root.AddCommand(tr)
}

func parseDay(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Parse(time.DateOnly, s)
}
