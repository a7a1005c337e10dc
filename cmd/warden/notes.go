package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/wardenhq/warden/survey"
)

// notesCommand is `warden survey notes`: import and erase interview notes.
func notesCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "notes", Short: "Interview notes beside a survey wave's numbers (CONTRACT §9)"}
	var wave, in, ref, data, db string
	var asJSON bool
	imp := &cobra.Command{
		Use:   "import --wave NAME --in FILE.csv [--data DIR | --db URL] [--json]",
		Short: "Validate interview notes of a wave and store them",
		Long: `Reads a CSV file of interview notes for an imported wave: columns ref, region, segment
(low, medium or high: where the interviewee's trust answer lies on the trust item's scale),
themes (separated by ;, from the controlled vocabulary: the built-in list plus
DIR/note-themes.yaml), quote (paraphrased, at most 1000 characters) and optionally
experience (GROUP=LEVEL, a split of the trust call's by_experience, like
exposed_to_actioned=yes). A bad cell, a region not in the wave, or a quote that appears to
carry personal data (an e-mail, phone number, link or web address, @handle, a number of
six or more digits) is an error naming the row and column, and then nothing is stored.
Notes stored already under the same ref are skipped when they are the same.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := envDefaults(cmd); err != nil {
				return err
			}
			if wave == "" || in == "" {
				return usagef("survey notes import needs --wave NAME and --in FILE.csv")
			}
			if err := survey.CheckWaveName(wave); err != nil {
				return usagef("--wave: %s", cliMessage(err))
			}
			themes, err := survey.LoadThemes(filepath.Join(data, survey.ThemesFile))
			if err != nil {
				return err
			}
			st, err := openStore(cmd.Context(), data, db, nil)
			if err != nil {
				return err
			}
			defer st.Close()
			w, err := st.Wave(cmd.Context(), wave)
			if err != nil {
				return fmt.Errorf("wave %s: %s", wave, cliMessage(err))
			}
			f, err := os.Open(in)
			if err != nil {
				return err
			}
			defer f.Close()
			notes, err := survey.ParseNotes(w, themes, f)
			if err != nil {
				return fileError(in, err)
			}
			res, err := st.SaveNotes(cmd.Context(), wave, notes)
			if err != nil {
				return fmt.Errorf("wave %s: %s", wave, cliMessage(err))
			}
			if asJSON {
				return writeJSON(os.Stdout, map[string]any{"wave": wave, "added": res.Added, "unchanged": res.Unchanged})
			}
			fmt.Printf("wave %s: %d notes added, %d stored already\n", wave, res.Added, res.Unchanged)
			return nil
		},
	}
	storeFlags(imp, &data, &db)
	imp.Flags().StringVar(&wave, "wave", "", "the imported wave the notes explain")
	imp.Flags().StringVar(&in, "in", "", "CSV file, one note per row")
	imp.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	del := &cobra.Command{
		Use:   "delete --wave NAME [--ref REF] [--data DIR | --db URL]",
		Short: "Erase one interview note, or all of a wave's",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := envDefaults(cmd); err != nil {
				return err
			}
			if wave == "" {
				return usagef("survey notes delete needs --wave NAME (and --ref REF for one note)")
			}
			st, err := openStore(cmd.Context(), data, db, nil)
			if err != nil {
				return err
			}
			defer st.Close()
			n, err := st.DeleteNotes(cmd.Context(), wave, ref)
			if err != nil {
				return fmt.Errorf("wave %s: %s", wave, cliMessage(err))
			}
			fmt.Printf("wave %s: %d notes erased\n", wave, n)
			return nil
		},
	}
	storeFlags(del, &data, &db)
	del.Flags().StringVar(&wave, "wave", "", "the wave")
	del.Flags().StringVar(&ref, "ref", "", "the note's ref (default: every note of the wave)")
	cmd.AddCommand(imp, del)
	return cmd
}
