package main

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/wardenhq/warden/detect"
	"github.com/wardenhq/warden/model"
)

func init() {
	mc := &cobra.Command{Use: "model", Short: "Train and inspect the bot-likeness model"}

	var data, out, learner, comment string
	var seed uint64
	var balance bool
	train := &cobra.Command{
		Use:   "train --data DIR[,DIR…] --out FILE",
		Short: "Train the bot-likeness model on evaluation datasets and write a versioned model file",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if data == "" || out == "" {
				return usagef("model train needs --data DIR[,DIR…] and --out FILE")
			}
			if !slices.Contains(model.Learners, learner) {
				return usagef("--learner must be one of %s", strings.Join(model.Learners, ", "))
			}
			pool, err := model.LoadPool(strings.Split(data, ","), nil)
			if err != nil {
				return err
			}
			var wt []float64
			if balance {
				wt = model.GroupWeights(pool.Groups)
			}
			p := model.DefaultParams(learner)
			p.Seed = seed
			m, err := model.TrainWeighted(pool.X, pool.Y, wt, p)
			if err != nil {
				return err
			}
			m.TrainedOn = pool.Names
			m.Created = time.Now().UTC().Truncate(time.Second)
			m.Comment = comment
			f, err := os.Create(out)
			if err != nil {
				return err
			}
			w := bufio.NewWriter(f)
			if err := m.Write(w); err != nil {
				f.Close()
				return err
			}
			if err := w.Flush(); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "wrote %s: %s model (format %s v%d) on %d accounts from %s\n", out, learner, model.Format, model.Version, len(pool.Y), strings.Join(pool.Names, ", "))
			return nil
		},
	}
	train.Flags().StringVar(&data, "data", "", "comma-separated evaluation dataset directories")
	train.Flags().StringVar(&out, "out", "", "model file to write")
	train.Flags().StringVar(&learner, "learner", model.GBT, "one of "+strings.Join(model.Learners, ", "))
	train.Flags().Uint64Var(&seed, "seed", 1, "seed for row subsampling")
	train.Flags().BoolVar(&balance, "balance", true, "weight every dataset and class equally")
	train.Flags().StringVar(&comment, "comment", "", "free text stored in the file")

	var mfile, account string
	explain := &cobra.Command{
		Use:   "explain --data DIR --account ID [--model FILE]",
		Short: "Score one account of a dataset and say in words which features drove the score",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if data == "" || account == "" {
				return usagef("model explain needs --data DIR and --account ID")
			}
			m, err := detect.DefaultModel()
			if mfile != "" {
				var f *os.File
				if f, err = os.Open(mfile); err != nil {
					return err
				}
				m, err = model.Read(bufio.NewReader(f))
				f.Close()
			}
			if err != nil {
				return err
			}
			ds, err := model.Load(data)
			if err != nil {
				return err
			}
			for i, a := range ds.Accounts {
				if a != account {
					continue
				}
				x := model.Vector(&ds.Profiles[i], ds.Behaviors[i], ds.Ref, nil)
				label := map[float64]string{1: "bot", 0: "human"}[ds.Labels[i]]
				fmt.Printf("account %s (labelled %s): bot score %.3f\n", a, label, m.Score(x))
				for _, r := range m.Explain(x, 5) {
					fmt.Printf("  %+.2f  %s\n", r.Push, r.Text)
				}
				return nil
			}
			return fmt.Errorf("account %q is not in %s", account, data)
		},
	}
	explain.Flags().StringVar(&data, "data", "", "evaluation dataset directory")
	explain.Flags().StringVar(&account, "account", "", "account id")
	explain.Flags().StringVar(&mfile, "model", "", "model file (default: the built-in model)")
	mc.AddCommand(train, explain)
	root.AddCommand(mc)
}
