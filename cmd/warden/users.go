package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/wardenhq/warden"
	"golang.org/x/term"
)

func init() {
	users := &cobra.Command{Use: "users", Short: "Manage console users"}
	var data, db, role, username string
	var passwordStdin bool
	create := &cobra.Command{
		Use:   "create --username NAME [--role admin] [--password-stdin]",
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
	create.Flags().StringVar(&role, "role", warden.RoleAdmin, "the user's role: "+strings.Join(warden.UserRoles, ", "))
	create.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from stdin instead of the terminal")
	users.AddCommand(create)
	root.AddCommand(users)
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
