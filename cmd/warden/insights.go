package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/wardenhq/warden/insights"
)

func init() {
	cmd := &cobra.Command{
		Use:   "insights",
		Short: "Trust measurement: key drivers and survey weighting (CONTRACT §9)",
	}
	cmd.AddCommand(insightsDriversCmd(), insightsRakeCmd())
	root.AddCommand(cmd)
}

func insightsDriversCmd() *cobra.Command {
	var in, outcome, predictors, weight string
	var bootstrap int
	var seed uint64
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "drivers --in FILE.csv --outcome COL --predictors A,B,… [--weight COL] [--json]",
		Short: "Key-driver analysis by OLS: relaimpo's lmg, lmg_rela, first, last, betasq, pratt and Johnson's weights",
		Long: `Fits the ordinary least squares model of the outcome column on the predictor columns
(weighted by --weight when given) and divides its R² among the predictors as R's relaimpo
does: lmg (the Shapley value of R², exact over all subsets up to 15 predictors, sampled
orderings above, with the 95 % error bound printed), lmg_rela (lmg as shares of R²), first
(R² alone), last (R² added last), betasq, pratt, and Johnson's (2000) relative weights.
--bootstrap N adds seeded percentile intervals of each driver's share.`,
		Args: cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			if in == "" || outcome == "" || predictors == "" {
				return usagef("insights drivers needs --in FILE.csv, --outcome COL and --predictors A,B,…")
			}
			if bootstrap < 0 {
				return usagef("--bootstrap cannot be negative")
			}
			names := strings.Split(predictors, ",")
			for i := range names {
				names[i] = strings.TrimSpace(names[i])
			}
			tab, err := readTable(in)
			if err != nil {
				return err
			}
			din, err := tab.DriverInput(outcome, names, weight)
			if err != nil {
				return fileError(in, err)
			}
			d, err := insights.KeyDrivers(din, insights.DriverOptions{Bootstrap: bootstrap, Seed: seed})
			if err != nil {
				return fileError(in, err)
			}
			if asJSON {
				return writeJSON(os.Stdout, d)
			}
			printDrivers(os.Stdout, d)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&in, "in", "", "CSV file with a header row, one row per respondent")
	f.StringVar(&outcome, "outcome", "", "the outcome column (for example the trust item)")
	f.StringVar(&predictors, "predictors", "", "comma-separated predictor columns")
	f.StringVar(&weight, "weight", "", "column of survey weights (default: equal weights)")
	f.IntVar(&bootstrap, "bootstrap", 0, "bootstrap replicates for 95 % intervals of each driver's share (0: none)")
	f.Uint64Var(&seed, "seed", 1, "seed of the bootstrap and of sampled orderings")
	f.BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

func printDrivers(w io.Writer, d *insights.Drivers) {
	fmt.Fprintf(w, "n = %d, R² = %.6f, lmg %s", d.N, d.R2, d.Method)
	if d.Method == "sampled" {
		fmt.Fprintf(w, " over %d orderings (± is a 95 %% bound)", d.Permutations)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	head := "predictor\tlmg\tlmg_rela\tjohnson\tfirst\tlast\tbetasq\tpratt\t"
	if d.LMGError != nil {
		head += "lmg ±\t"
	}
	if d.Intervals != nil {
		head += fmt.Sprintf("share %g %% interval\t", 100*d.Intervals.Level)
	}
	fmt.Fprintln(tw, head)
	for j, name := range d.Names {
		fmt.Fprintf(tw, "%s\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t", name, d.LMG[j], d.LMGRela[j], d.Johnson[j], d.First[j], d.Last[j], d.Betasq[j], d.Pratt[j])
		if d.LMGError != nil {
			fmt.Fprintf(tw, "%.4f\t", d.LMGError[j])
		}
		if d.Intervals != nil {
			fmt.Fprintf(tw, "[%.4f, %.4f]\t", d.Intervals.LMGRela[j][0], d.Intervals.LMGRela[j][1])
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

func insightsRakeCmd() *cobra.Command {
	var in, marginsFile, weight, mode string
	var means []string
	var trimLower, trimUpper float64
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "rake --in FILE.csv --margins MARGINS.json --weight COL [--mode r-survey|converged] [--mean COL] [--json]",
		Short: "Rake survey weights to population margins (iterative proportional fitting)",
		Long: `Adjusts the starting weights in column --weight so that the weighted totals of each margin's
variable (a column named like the margin) match the population totals in MARGINS.json,
{"VAR": {"LEVEL": total}}, adjusting the margins in the file's order each cycle.
--mode r-survey (the default) stops exactly as R's survey::rake does with its default control
(maxit = 10, epsilon = 1: when no cell of the cross-table of all the margins' variables moved
by 1 or more in a cycle); --mode converged goes on to the fixed point (1e-10 of the total,
at most 1000 cycles). --trim-lower/--trim-upper then bound the weights as survey::trimWeights
does, sharing the amount trimmed among the other weights. Prints the weights, the cycles,
the weighted means of the --mean columns and Kish's design effect.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if in == "" || marginsFile == "" || weight == "" {
				return usagef("insights rake needs --in FILE.csv, --margins MARGINS.json and --weight COL")
			}
			if mode != insights.ModeRSurvey && mode != insights.ModeConverged {
				return usagef("--mode must be %s or %s", insights.ModeRSurvey, insights.ModeConverged)
			}
			trim := c.Flags().Changed("trim-lower") || c.Flags().Changed("trim-upper")
			raw, err := readLimited(marginsFile, insights.MaxMarginsBytes)
			if err != nil {
				return err
			}
			margins, err := insights.ParseMargins(raw)
			if err != nil {
				return fileError(marginsFile, err)
			}
			tab, err := readTable(in)
			if err != nil {
				return err
			}
			w, err := tab.Weights(weight)
			if err != nil {
				return fileError(in, err)
			}
			values := make([][]string, len(margins))
			for k, m := range margins {
				if values[k], err = tab.Strings(m.Var); err != nil {
					return fileError(in, fmt.Errorf("margin %q: %s", m.Var, cliMessage(err)))
				}
			}
			cols := make([][]float64, len(means))
			for i, name := range means {
				if cols[i], err = tab.Numbers(name); err != nil {
					return fileError(in, err)
				}
			}
			r, err := insights.Rake(values, w, margins, insights.RakeOptions{Mode: mode})
			if err != nil {
				var re *insights.RowError
				if errors.As(err, &re) {
					return fileError(in, tab.CellError(re.Row, re.Column, "%s", re.Message))
				}
				return fileError(marginsFile, err)
			}
			out := rakeOut{Weights: r.Weights, Cycles: r.Cycles, Mean: map[string]float64{}, Converged: r.Converged, Delta: r.Delta, Mode: mode, N: len(r.Weights)}
			if trim {
				if out.Weights, out.Trimmed, err = insights.Trim(r.Weights, trimLower, trimUpper, false); err != nil {
					return usagef("%s", cliMessage(err))
				}
			}
			for i, name := range means {
				out.Mean[name] = insights.WeightedMean(cols[i], out.Weights)
			}
			out.Deff, out.ESS = insights.Kish(out.Weights)
			if asJSON {
				return writeJSON(os.Stdout, out)
			}
			printRake(os.Stdout, &out, margins, values, w, means)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&in, "in", "", "CSV file with a header row, one row per respondent")
	f.StringVar(&marginsFile, "margins", "", `population margins as JSON {"VAR": {"LEVEL": total}}`)
	f.StringVar(&weight, "weight", "", "column of starting (design) weights")
	f.StringVar(&mode, "mode", insights.ModeRSurvey, "r-survey (stop as R's survey::rake does by default) or converged (to the fixed point)")
	f.StringSliceVar(&means, "mean", nil, "column whose weighted mean to print (repeat or comma-separate)")
	f.Float64Var(&trimLower, "trim-lower", 0, "after raking, raise weights below this bound to it")
	f.Float64Var(&trimUpper, "trim-upper", math.Inf(1), "after raking, lower weights above this bound to it")
	f.BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

// rakeOut is the JSON of `insights rake` (CONTRACT §9); the keys after
// deff are extras.
type rakeOut struct {
	Weights   []float64          `json:"weights"`
	Cycles    int                `json:"cycles"`
	Mean      map[string]float64 `json:"mean"`
	Deff      float64            `json:"deff"`
	ESS       float64            `json:"ess"`
	N         int                `json:"n"`
	Mode      string             `json:"mode"`
	Converged bool               `json:"converged"`
	Delta     float64            `json:"delta"`
	Trimmed   int                `json:"trimmed,omitempty"`
}

func printRake(w io.Writer, out *rakeOut, margins []insights.Margin, values [][]string, start []float64, means []string) {
	status := "converged"
	if !out.Converged {
		status = "did not converge"
	}
	fmt.Fprintf(w, "%d rows raked in %d cycles (%s, %s; last change %.3g)\n", out.N, out.Cycles, out.Mode, status, out.Delta)
	fmt.Fprintf(w, "design effect %.4f, effective sample size %.1f", out.Deff, out.ESS)
	if out.Trimmed > 0 {
		fmt.Fprintf(w, ", %d weights trimmed", out.Trimmed)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "margin\tlevel\tpopulation\tbefore\tafter\t")
	for k, m := range margins {
		before := make(map[string]float64, len(m.Levels))
		after := make(map[string]float64, len(m.Levels))
		for i, v := range values[k] {
			before[v] += start[i]
			after[v] += out.Weights[i]
		}
		for l, level := range m.Levels {
			fmt.Fprintf(tw, "%s\t%s\t%.6g\t%.6g\t%.6g\t\n", m.Var, level, m.Totals[l], before[level], after[level])
		}
	}
	tw.Flush()
	for _, name := range means {
		fmt.Fprintf(w, "weighted mean of %s: %.6g\n", name, out.Mean[name])
	}
	fmt.Fprintln(w, "(--json prints every weight)")
}

// readTable reads a CSV file, naming the file in its errors.
func readTable(path string) (*insights.Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t, err := insights.ReadCSV(f)
	if err != nil {
		return nil, fileError(path, err)
	}
	return t, nil
}

// fileError is err about the input file path, for a terminal: the path
// and the error's message once.
func fileError(path string, err error) error {
	return fmt.Errorf("%s: %s", path, cliMessage(err))
}

// readLimited reads a whole file of at most limit bytes.
func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is over %d bytes", path, limit)
	}
	return b, nil
}

// writeJSON prints v as one JSON object and a newline.
func writeJSON(w io.Writer, v any) error {
	return json.NewEncoder(w).Encode(v)
}
