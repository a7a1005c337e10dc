package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/wardenhq/warden/model"
	"golang.org/x/term"
)

func init() {
	var data, train, test, learner string
	var folds int
	var seed uint64
	var asJSON, balance, lockstep bool
	cmd := &cobra.Command{
		Use:   "eval (--data DIR [--folds 5] [--seed 1] | --train DIR[,DIR…] --test DIR) [--json]",
		Short: "Measure the bot-likeness model on labeled data, beside a depth-limited tree baseline",
		Long: `Measures the bot-likeness model on an evaluation dataset (see 'warden datasets import').
With --data: stratified, seeded k-fold cross-validation; every account is scored by a model
that did not train on it. With --train and --test: train on some datasets, score another.
Every result carries the baseline, a depth-4 decision tree on the same features.
With --lockstep: recall and precision of the lockstep detector on synthetic campaigns.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if lockstep {
				if data != "" || train != "" || test != "" {
					return usagef("--lockstep runs synthetic campaigns; it takes no --data, --train or --test")
				}
				return runLockstep(seed, asJSON)
			}
			cv := data != ""
			if cv == (train != "" || test != "") || (!cv && (train == "" || test == "")) {
				return usagef("eval needs either --data DIR or both --train DIR[,DIR…] and --test DIR")
			}
			if cv && folds < 2 {
				return usagef("--folds must be at least 2")
			}
			if learner != model.GBT && learner != model.LogReg && learner != model.Tree1 {
				return usagef("--learner must be gbt, logreg or tree")
			}
			var bar *progressbar.ProgressBar
			if !asJSON && term.IsTerminal(int(os.Stderr.Fd())) {
				bar = progressbar.NewOptions(-1, progressbar.OptionSetWriter(os.Stderr), progressbar.OptionSetDescription("loading"), progressbar.OptionClearOnFinish())
			}
			p, b := model.DefaultParams(learner), model.DefaultParams(model.Tree1)
			p.Seed, b.Seed = seed, seed
			var res model.Result
			if cv {
				ds, err := model.Load(data)
				if err != nil {
					return err
				}
				X := ds.Matrix()
				if bar != nil {
					bar.ChangeMax(2 * folds)
					bar.Describe(fmt.Sprintf("%d-fold CV", folds))
				}
				m, bm, err := model.CrossValidate(X, ds.Labels, folds, seed, p, b, func() {
					if bar != nil {
						bar.Add(1)
					}
				})
				if err != nil {
					return err
				}
				res = result(fmt.Sprintf("%d-fold stratified cross-validation, seed %d", folds, seed), learner, nil, ds, m, bm)
			} else {
				pool, err := model.LoadPool(strings.Split(train, ","), func() {
					if bar != nil {
						bar.Add(1)
					}
				})
				if err != nil {
					return err
				}
				ts, err := model.Load(test)
				if err != nil {
					return err
				}
				if bar != nil {
					bar.Describe("training")
				}
				var wt []float64
				if balance {
					wt = model.GroupWeights(pool.Groups)
				}
				m, bm, err := model.TrainTest(pool.X, pool.Y, wt, ts.Matrix(), ts.Labels, p, b)
				if err != nil {
					return err
				}
				res = result("train on other datasets, test on this one", learner, pool.Names, ts, m, bm)
			}
			if bar != nil {
				bar.Finish()
			}
			if asJSON {
				return json.NewEncoder(os.Stdout).Encode(res)
			}
			printResult(os.Stdout, &res)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&data, "data", "", "evaluation dataset directory for cross-validation")
	f.IntVar(&folds, "folds", 5, "number of cross-validation folds")
	f.Uint64Var(&seed, "seed", 1, "seed for the folds and the learners")
	f.StringVar(&train, "train", "", "comma-separated dataset directories to train on")
	f.StringVar(&test, "test", "", "dataset directory to score")
	f.StringVar(&learner, "learner", model.GBT, "gbt, logreg or tree")
	f.BoolVar(&balance, "balance", true, "with --train, weight every training dataset and class equally")
	f.BoolVar(&lockstep, "lockstep", false, "measure lockstep detection on synthetic campaigns with ground truth instead")
	f.BoolVar(&asJSON, "json", false, "print one JSON object")
	root.AddCommand(cmd)
}

func result(protocol, learner string, train []string, ds *model.Dataset, m, bm model.Metrics) model.Result {
	r := model.Result{Protocol: protocol, Learner: learner, Train: train, Test: ds.Name, N: len(ds.Labels), Metrics: m,
		Baseline: model.Baseline{Name: "decision tree, depth 4", Accuracy: bm.Accuracy, MCC: bm.MCC, AUC: bm.AUC}}
	for _, v := range ds.Labels {
		if v == 1 {
			r.Bots++
		}
	}
	r.Humans = r.N - r.Bots
	return r
}

func printResult(w io.Writer, r *model.Result) {
	fmt.Fprintf(w, "%s: %d accounts (%d bots, %d humans); %s\n", r.Test, r.N, r.Bots, r.Humans, r.Protocol)
	if len(r.Train) > 0 {
		fmt.Fprintf(w, "trained on: %s\n", strings.Join(r.Train, ", "))
	}
	fmt.Fprintf(w, "%-24s %8s %8s %8s %8s %8s %8s\n", "", "accuracy", "precision", "recall", "f1", "mcc", "auc")
	fmt.Fprintf(w, "%-24s %8.3f %8.3f %8.3f %8.3f %8.3f %8.3f\n", r.Learner, r.Accuracy, r.Precision, r.Recall, r.F1, r.MCC, float64(r.AUC))
	fmt.Fprintf(w, "%-24s %8.3f %8s %8s %8s %8.3f %8.3f\n", r.Baseline.Name, r.Baseline.Accuracy, "", "", "", r.Baseline.MCC, float64(r.Baseline.AUC))
}
