package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/wardenhq/warden/datasets"
	"golang.org/x/term"
)

func init() {
	ds := &cobra.Command{Use: "datasets", Short: "Convert public labeled datasets to Warden's evaluation format"}
	var format, in, out string
	var asJSON bool
	imp := &cobra.Command{
		Use:   "import --format cresci-2015|botrepo --in PATH --out DIR",
		Short: "Convert a public dataset to an evaluation directory (accounts.csv, events.jsonl.gz)",
		Long: `Converts a public labeled bot dataset to the evaluation format read by 'warden eval':
accounts.csv (account, label and profile columns) and, where the source has timelines,
events.jsonl.gz. --format cresci-2015 takes the cresci-2015 folder and writes its
3,900-account BAS set with timelines; --format botrepo takes one Bot Repository CSV file.
docs/detection.md lists every mapping choice.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if in == "" || out == "" {
				return usagef("datasets import needs --in PATH and --out DIR")
			}
			var s datasets.Summary
			var err error
			switch format {
			case "cresci-2015":
				var bar *progressbar.ProgressBar
				if !asJSON && term.IsTerminal(int(os.Stderr.Fd())) {
					bar = progressbar.NewOptions(-1, progressbar.OptionSetWriter(os.Stderr), progressbar.OptionSetDescription("events"))
				}
				s, err = datasets.ImportCresci2015(in, out, func(n int) {
					if bar != nil {
						bar.Set(n)
					}
				})
				if bar != nil {
					bar.Finish()
					fmt.Fprintln(os.Stderr)
				}
			case "botrepo":
				s, err = datasets.ImportBotRepo(in, out)
			case "":
				return usagef("datasets import needs --format cresci-2015 or --format botrepo")
			default:
				return usagef("unknown --format %q: use cresci-2015 or botrepo", format)
			}
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(os.Stdout).Encode(s)
			}
			fmt.Printf("wrote %s: %d accounts (%d bots, %d humans), %d events\n", out, s.Accounts, s.Bots, s.Humans, s.Events)
			return nil
		},
	}
	imp.Flags().StringVar(&format, "format", "", "source format: cresci-2015 (a folder) or botrepo (one CSV file)")
	imp.Flags().StringVar(&in, "in", "", "source folder or file")
	imp.Flags().StringVar(&out, "out", "", "evaluation directory to write")
	imp.Flags().BoolVar(&asJSON, "json", false, "print a JSON summary")
	ds.AddCommand(imp)
	root.AddCommand(ds)
}
