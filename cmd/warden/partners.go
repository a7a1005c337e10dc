package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/partner"
)

// signingKeyPath is where serve keeps its feed signing key by default.
func signingKeyPath(data, flag string) string {
	if flag != "" {
		return flag
	}
	return filepath.Join(data, "partner-signing.key")
}

func init() {
	partners := &cobra.Command{Use: "partners", Short: "Manage the partner platforms this server shares indicators with",
		Long: "Partner sharing (docs/partners.md): this server's feed is read by partner-role API keys at GET /v1/partners/feed;\n" +
			"partners' feeds are imported by POST /v1/partners/feeds, verified with the key registered here."}
	var data, db, key, signing string
	var asJSON bool
	add := &cobra.Command{
		Use:   "add NAME --key ed25519:KEY [--data DIR | --db URL]",
		Short: "Register a partner and the public key its feeds are signed with (or replace its key)",
		Long:  "NAME is how imports name the partner. KEY is what `warden partners key` prints on the partner's server.",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := envDefaults(cmd); err != nil {
				return err
			}
			if _, err := partner.ParsePublicKey(key); err != nil {
				return usagef("--key: %s", cliMessage(err))
			}
			st, err := openStore(cmd.Context(), data, db, nil)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.AddPartner(cmd.Context(), args[0], key); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "partner %s registered\n", args[0])
			return nil
		},
	}
	storeFlags(add, &data, &db)
	add.Flags().StringVar(&key, "key", "", "the partner's feed key, ed25519:…")
	partners.AddCommand(add)

	list := &cobra.Command{
		Use:   "list [--json] [--data DIR | --db URL]",
		Short: "List the registered partners and what was imported from each",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := envDefaults(cmd); err != nil {
				return err
			}
			st, err := openStore(cmd.Context(), data, db, nil)
			if err != nil {
				return err
			}
			defer st.Close()
			ps, err := st.Partners(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{"partners": ps})
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tTRUST\tLISTED\tKEY")
			for _, p := range ps {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", p.Name, p.Trust, p.Listed, p.PublicKey)
			}
			return tw.Flush()
		},
	}
	storeFlags(list, &data, &db)
	list.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	partners.AddCommand(list)

	keyCmd := &cobra.Command{
		Use:   "key [--data DIR] [--partner-signing-key FILE]",
		Short: "Print this server's feed key, for partners to register (made, mode 0600, if there is none)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := envDefaults(cmd); err != nil {
				return err
			}
			k, err := partner.LoadSigningKey(signingKeyPath(data, signing))
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), partner.PublicKeyText(k))
			return nil
		},
	}
	keyCmd.Flags().StringVar(&data, "data", "warden-data", "data directory")
	keyCmd.Flags().StringVar(&signing, "partner-signing-key", "", "the feed signing key file (default DATA/partner-signing.key)")
	partners.AddCommand(keyCmd)
	root.AddCommand(partners)
}

// cliMessage is err's message for a terminal: a *warden.Error's message
// alone, any other error as it is.
func cliMessage(err error) string {
	var we *warden.Error
	if errors.As(err, &we) {
		return we.Message
	}
	return err.Error()
}
