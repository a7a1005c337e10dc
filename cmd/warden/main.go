// Command warden is the Warden trust & safety server and its tools.
package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/wardenhq/warden"
)

// root is the warden command. Each subcommand lives in its own file and adds
// itself in an init function.
var root = &cobra.Command{
	Use:           "warden",
	Short:         "Warden: trust & safety for a social platform",
	Long:          "Warden takes a platform's events, answers each with a verdict, turns user reports into cases, and keeps the reporter informed.",
	Version:       warden.Version,
	SilenceUsage:  true,
	SilenceErrors: true,
}

// usageError marks a bad invocation: exit status 2.
type usageError struct{ error }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

func main() {
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "warden:", err)
		var ue usageError
		if errors.As(err, &ue) || isCobraUsage(err) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

func isCobraUsage(err error) bool {
	s := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "accepts ", "requires at least", "required flag"} {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}
