package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/sqlstore"
	"golang.org/x/term"
)

func init() {
	users := &cobra.Command{Use: "users", Short: "Manage console users"}
	var data, db, role, username string
	var passwordStdin bool
	create := &cobra.Command{
		Use:   "create --username NAME --role ROLE [--password-stdin]",
		Short: "Create a console user (the first admin is made this way)",
		Long: "Creates a user who can sign in to the console. The password is read from the terminal,\n" +
			"or from the first line of stdin with --password-stdin; it is stored as an argon2id hash.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := envDefaults(cmd); err != nil {
				return err
			}
			if username == "" {
				return usagef("--username is required")
			}
			if role == "" {
				return usagef("--role is required: one of %s", strings.Join(warden.UserRoles, ", "))
			}
			if !warden.ValidUserRole(role) {
				return usagef("--role must be one of %s", strings.Join(warden.UserRoles, ", "))
			}
			pw, err := readPassword(passwordStdin)
			if err != nil {
				return err
			}
			st, err := openStore(cmd.Context(), data, db, nil)
			if err != nil {
				return err
			}
			defer st.Close()
			u, err := st.CreateUser(cmd.Context(), username, pw, role)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created %s user %s\n", u.Role, u.Username)
			return nil
		},
	}
	storeFlags(create, &data, &db)
	create.Flags().StringVar(&username, "username", "", "the sign-in name")
	create.Flags().StringVar(&role, "role", "", "the user's role (required): "+strings.Join(warden.UserRoles, ", "))
	create.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from stdin instead of the terminal")
	users.AddCommand(create, usersList(), usersDisable(), usersResetPassword())
	root.AddCommand(users)
}

func usersList() *cobra.Command {
	var data, db string
	var asJSON bool
	c := &cobra.Command{
		Use:   "list [--json]",
		Short: "List console users: name, role, created, disabled",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var us []warden.User
			err := withStore(cmd, data, db, func(st *sqlstore.DB) (err error) {
				us, err = st.ListUsers(cmd.Context())
				return err
			})
			if err != nil {
				return err
			}
			type row struct {
				Username   string `json:"username"`
				Role       string `json:"role"`
				CreatedAt  string `json:"created_at"`
				DisabledAt string `json:"disabled_at,omitempty"`
			}
			rows := make([]row, len(us))
			for i, u := range us {
				rows[i] = row{Username: u.Username, Role: u.Role, CreatedAt: time.UnixMicro(u.CreatedUS).UTC().Format(time.RFC3339)}
				if u.DisabledUS != nil {
					rows[i].DisabledAt = time.UnixMicro(*u.DisabledUS).UTC().Format(time.RFC3339)
				}
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return json.NewEncoder(out).Encode(map[string]any{"users": rows})
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "USERNAME\tROLE\tCREATED\tDISABLED")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Username, r.Role, r.CreatedAt, r.DisabledAt)
			}
			return tw.Flush()
		},
	}
	storeFlags(c, &data, &db)
	c.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return c
}

func usersDisable() *cobra.Command {
	var data, db string
	c := &cobra.Command{
		Use:   "disable USERNAME",
		Short: "Stop a console user from signing in and end their sessions",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			err := withStore(cmd, data, db, func(st *sqlstore.DB) error { return st.DisableUser(cmd.Context(), args[0]) })
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "disabled %s; their sessions are ended\n", args[0])
			return nil
		},
	}
	storeFlags(c, &data, &db)
	return c
}

func usersResetPassword() *cobra.Command {
	var data, db string
	var passwordStdin bool
	c := &cobra.Command{
		Use:   "reset-password USERNAME [--password-stdin]",
		Short: "Set a console user's password and end their sessions",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := readPassword(passwordStdin)
			if err != nil {
				return err
			}
			if err := withStore(cmd, data, db, func(st *sqlstore.DB) error { return st.ResetPassword(cmd.Context(), args[0], pw) }); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "new password set for %s; their sessions are ended\n", args[0])
			return nil
		},
	}
	storeFlags(c, &data, &db)
	c.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from stdin instead of the terminal")
	return c
}

func readPassword(fromStdin bool) (string, error) {
	if fromStdin || !term.IsTerminal(int(os.Stdin.Fd())) {
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && line == "" {
			return "", fmt.Errorf("read password from stdin: %w", err)
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	fmt.Fprint(os.Stderr, "Password: ")
	a, err := term.ReadPassword(int(os.Stdin.Fd()))
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return "", err
	}
	fmt.Fprint(os.Stderr, "Again: ")
	b, err := term.ReadPassword(int(os.Stdin.Fd()))
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return "", err
	}
	if string(a) != string(b) {
		return "", fmt.Errorf("the passwords differ")
	}
	return string(a), nil
}
