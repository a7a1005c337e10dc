package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/wardenhq/warden"
)

func init() {
	keys := &cobra.Command{Use: "keys", Short: "Manage API keys"}
	var data, db, role, name string
	create := &cobra.Command{
		Use:   "create --role ROLE [--name NAME] [--data DIR | --db URL]",
		Short: "Print a new API key",
		Long: "Creates an API key with one role (" + strings.Join(warden.Roles, ", ") + ") and prints its secret on stdout.\n" +
			"The secret is shown once: Warden stores only its hash. It works on a running server's data at once.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := envDefaults(cmd); err != nil {
				return err
			}
			if !warden.ValidRole(role) {
				return usagef("--role must be one of %s", strings.Join(warden.Roles, ", "))
			}
			st, err := openStore(cmd.Context(), data, db, nil)
			if err != nil {
				return err
			}
			defer st.Close()
			secret, _, err := st.CreateKey(cmd.Context(), role, name)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), secret)
			return nil
		},
	}
	storeFlags(create, &data, &db)
	create.Flags().StringVar(&role, "role", "", "the key's role: "+strings.Join(warden.Roles, ", "))
	create.Flags().StringVar(&name, "name", "", "a name to recognise the key by")
	keys.AddCommand(create)
	root.AddCommand(keys)
}
