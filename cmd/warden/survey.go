package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/spf13/cobra"
	"github.com/wardenhq/warden/survey"
)

func init() {
	cmd := &cobra.Command{Use: "survey", Short: "Trust benchmark survey waves (CONTRACT §9)"}
	var wave, in, codebook, data, db, saltFile string
	var asJSON bool
	imp := &cobra.Command{
		Use:   "import --wave NAME --in FILE.csv --codebook FILE.yaml [--data DIR | --db URL] [--json]",
		Short: "Validate a survey wave against its codebook and store it",
		Long: `Reads a wave's CSV file (one row per respondent) and its codebook (YAML: the region,
platform id and weight columns, the items with their scales, reverse coding and labels per
language, the trust item, categorical columns) and stores the wave. Every column of the
file must be in the codebook; an unknown column, a region that is not an ISO 3166-1
alpha-2 code, an answer off its scale or a level not in its column is an error naming
the row and column, and then nothing is stored. A platform id is stored only as an
HMAC-SHA256 under the survey salt in --salt-file (made on first use; default
DIR/survey-id.key), never in the clear and never beside the salt.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := envDefaults(cmd); err != nil {
				return err
			}
			if wave == "" || in == "" || codebook == "" {
				return usagef("survey import needs --wave NAME, --in FILE.csv and --codebook FILE.yaml")
			}
			if err := survey.CheckWaveName(wave); err != nil {
				return usagef("--wave: %s", cliMessage(err))
			}
			raw, err := readLimited(codebook, survey.MaxCodebookBytes)
			if err != nil {
				return err
			}
			cb, err := survey.ParseCodebook(raw)
			if err != nil {
				return fileError(codebook, err)
			}
			var salt []byte
			if cb.PlatformID != "" {
				if salt, err = survey.EnsureSalt(surveySaltPath(data, saltFile)); err != nil {
					return err
				}
			}
			f, err := os.Open(in)
			if err != nil {
				return err
			}
			defer f.Close()
			w, err := survey.ParseWave(wave, cb, f, salt)
			if err != nil {
				return fileError(in, err)
			}
			st, err := openStore(cmd.Context(), data, db, nil)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.SaveWave(cmd.Context(), w); err != nil {
				return fmt.Errorf("wave %s: %s", wave, cliMessage(err))
			}
			regions := map[string]int{}
			linked := 0
			for _, r := range w.Respondents {
				regions[r.Region]++
				if r.PlatformHash != "" {
					linked++
				}
			}
			if asJSON {
				return writeJSON(os.Stdout, map[string]any{"wave": wave, "respondents": len(w.Respondents), "regions": regions, "with_platform_id": linked})
			}
			names := make([]string, 0, len(regions))
			for r := range regions {
				names = append(names, r)
			}
			sort.Strings(names)
			fmt.Printf("wave %s: %d respondents stored, %d with a platform id (hashed)\n", wave, len(w.Respondents), linked)
			for _, r := range names {
				fmt.Printf("  %s  %d\n", r, regions[r])
			}
			return nil
		},
	}
	storeFlags(imp, &data, &db)
	imp.Flags().StringVar(&wave, "wave", "", "the wave's name, like 2025-Q3")
	imp.Flags().StringVar(&in, "in", "", "CSV file, one row per respondent")
	imp.Flags().StringVar(&codebook, "codebook", "", "the wave's codebook (YAML)")
	imp.Flags().StringVar(&saltFile, "salt-file", "", "file holding the survey salt for platform ids (default: DIR/survey-id.key)")
	imp.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	cmd.AddCommand(imp, notesCommand())
	root.AddCommand(cmd)
}

// surveySaltPath is the survey salt's file: saltFile, or the one in the
// data directory.
func surveySaltPath(data, saltFile string) string {
	if saltFile != "" {
		return saltFile
	}
	return filepath.Join(data, survey.SaltFile)
}
