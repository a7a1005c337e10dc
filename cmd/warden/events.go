package main

import (
	"bufio"
	"time"

	"github.com/spf13/cobra"
	"github.com/wardenhq/warden/sqlstore"
)

func init() {
	events := &cobra.Command{Use: "events", Short: "Read the durable event log"}
	var data, db, from, to string
	export := &cobra.Command{
		Use:   "export [--data DIR | --db URL] [--from T] [--to T]",
		Short: "Print the event log as JSON Lines, in arrival order",
		Long: "Prints every accepted event exactly once, as JSON Lines, in the order Warden accepted them.\n" +
			"--from and --to (RFC 3339) select by event time: from inclusive, to exclusive.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := envDefaults(cmd); err != nil {
				return err
			}
			var f sqlstore.ExportFilter
			var err error
			if from != "" {
				if f.From, err = time.Parse(time.RFC3339Nano, from); err != nil {
					return usagef("--from %q is not RFC 3339", from)
				}
			}
			if to != "" {
				if f.To, err = time.Parse(time.RFC3339Nano, to); err != nil {
					return usagef("--to %q is not RFC 3339", to)
				}
			}
			st, err := openStore(cmd.Context(), data, db, nil)
			if err != nil {
				return err
			}
			defer st.Close()
			w := bufio.NewWriterSize(cmd.OutOrStdout(), 1<<16)
			log := sqlstore.NewEventLog(st)
			defer log.Close()
			if err := log.Export(cmd.Context(), f, func(r sqlstore.EventRecord) error {
				w.Write(r.Body)
				return w.WriteByte('\n')
			}); err != nil {
				return err
			}
			return w.Flush()
		},
	}
	storeFlags(export, &data, &db)
	export.Flags().StringVar(&from, "from", "", "only events at or after this event time (RFC 3339)")
	export.Flags().StringVar(&to, "to", "", "only events before this event time (RFC 3339)")
	events.AddCommand(export)
	root.AddCommand(events)
}
