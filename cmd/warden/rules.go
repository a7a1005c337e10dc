package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wardenhq/warden/engine"
)

func init() {
	rulesCmd := &cobra.Command{
		Use:   "rules",
		Short: "Check rule sets and run their fixture tests",
	}
	check := &cobra.Command{
		Use:   "check DIR",
		Short: "Validate a rule set: syntax, types, names and lists, as the server would before loading it",
		Long: `check compiles every *.yaml rule file under DIR and reports each problem as
FILE:LINE:COLUMN: what to fix, then its ladders (ladders/) and safety valves (valves/),
naming the file and the field. It exits 0 when the set would load, 1 otherwise.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rs, err := engine.CompileDir(args[0], engine.CompileOptions{})
			if err != nil {
				return rulesError(cmd, err)
			}
			effects, err := checkEffects(os.DirFS(args[0]), rs)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "ok: %d rules, %d counters, %d fixture tests, %s in %s\n", rs.Rules(), rs.Counters(), rs.Fixtures(), effects, args[0])
			return nil
		},
	}
	test := &cobra.Command{
		Use:   "test DIR",
		Short: "Run a rule set's fixture tests (*.test.yaml): event sequences with expected verdicts and hits",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rs, err := engine.CompileDir(args[0], engine.CompileOptions{})
			if err != nil {
				return rulesError(cmd, err)
			}
			results := rs.RunFixtures()
			if len(results) == 0 {
				return fmt.Errorf("%s has no fixture tests (*.test.yaml files)", args[0])
			}
			out := cmd.OutOrStdout()
			failed := 0
			for _, r := range results {
				if r.Passed() {
					fmt.Fprintf(out, "PASS %s: %s (%d events)\n", r.File, r.Test, r.Events)
					continue
				}
				failed++
				fmt.Fprintf(out, "FAIL %s: %s\n", r.File, r.Test)
				for _, f := range r.Failures {
					fmt.Fprintf(out, "     %s\n", f)
				}
			}
			if failed > 0 {
				return fmt.Errorf("%d of %d fixture tests failed", failed, len(results))
			}
			fmt.Fprintf(out, "ok: %d fixture tests passed\n", len(results))
			if u := rs.Uncovered(); len(u) > 0 {
				fmt.Fprintf(out, "note: no fixture expects a hit from %s\n", strings.Join(u, ", "))
			}
			return nil
		},
	}
	rulesCmd.AddCommand(check, test)
	root.AddCommand(rulesCmd)
}

// rulesError prints every problem of a rejected rule set on stdout, one a
// line, and returns a one-line summary for stderr.
func rulesError(cmd *cobra.Command, err error) error {
	if errs, ok := err.(engine.Errors); ok {
		for _, e := range errs {
			fmt.Fprintln(cmd.OutOrStdout(), e)
		}
		return fmt.Errorf("the rule set has %d problem(s)", len(errs))
	}
	return err
}
