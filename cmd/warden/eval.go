package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/wardenhq/warden/detect"
	"github.com/wardenhq/warden/model"
	"golang.org/x/term"
)

func init() {
	var data, train, test, learner, lodo string
	var folds int
	var seed uint64
	var asJSON, balance, lockstep, pools bool
	var spread, window time.Duration
	var targets int
	cmd := &cobra.Command{
		Use:   "eval (--data DIR [--folds 5] [--seed 1] | --train DIR[,DIR…] --test DIR | --lodo DIR,DIR[,DIR…]) [--json]",
		Short: "Measure the bot-likeness model on labeled data, beside a depth-limited tree baseline",
		Long: `Measures the bot-likeness model on an evaluation dataset (see 'warden datasets import').
With --data: stratified, seeded k-fold cross-validation; every account is scored by a model
that did not train on it. With --train and --test: train on some datasets, score another.
With --lodo: leave one dataset out; every dataset that has both classes is scored by a model
trained on all the others, and the mean AUC over them is the model-selection criterion
(docs/detection.md, "Held-out protocol"). Every result carries the baseline, a depth-4 decision tree on the same features.
With --lodo and --pools: training-data selection (Yang et al. 2020). Every subset of the
other datasets is tried as the training pool of every held-out set; the best pool over all
held-out sets is reported (optimistic: those sets also chose it), and so is nested selection,
where each held-out set is scored with the pool chosen on the other held-out sets only.
With --lockstep: recall and precision of the lockstep detector on synthetic campaigns.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if lockstep {
				if data != "" || train != "" || test != "" || lodo != "" || pools {
					return usagef("--lockstep runs synthetic campaigns; it takes no --data, --train, --test, --lodo or --pools")
				}
				if spread < 0 || window < 0 {
					return usagef("--crowd-spread and --lockstep-window cannot be negative")
				}
				if targets < 0 || targets > detect.MaxLockstepTargets {
					return usagef("--lockstep-targets must be between 1 and %d (0: the default)", detect.MaxLockstepTargets)
				}
				return runLockstep(seed, spread, window, targets, asJSON)
			}
			if spread != 0 || window != 0 || targets != 0 {
				return usagef("--crowd-spread, --lockstep-window and --lockstep-targets go with --lockstep")
			}
			if lodo != "" {
				if data != "" || train != "" || test != "" {
					return usagef("--lodo takes no --data, --train or --test")
				}
			} else if pools {
				return usagef("--pools needs --lodo DIR,DIR[,DIR…]")
			}
			cv := data != ""
			if lodo == "" && (cv == (train != "" || test != "") || (!cv && (train == "" || test == ""))) {
				return usagef("eval needs --data DIR, both --train DIR[,DIR…] and --test DIR, or --lodo DIR,DIR[,DIR…]")
			}
			if cv && folds < 2 {
				return usagef("--folds must be at least 2")
			}
			if !slices.Contains(model.Learners, learner) {
				return usagef("--learner must be one of %s", strings.Join(model.Learners, ", "))
			}
			var bar *progressbar.ProgressBar
			if !asJSON && term.IsTerminal(int(os.Stderr.Fd())) {
				bar = progressbar.NewOptions(-1, progressbar.OptionSetWriter(os.Stderr), progressbar.OptionSetDescription("loading"), progressbar.OptionClearOnFinish())
			}
			p, b := model.DefaultParams(learner), model.DefaultParams(model.Tree1)
			p.Seed, b.Seed = seed, seed
			if pools {
				return runPools(strings.Split(lodo, ","), learner, p, b, balance, asJSON, bar)
			}
			if lodo != "" {
				return runLODO(strings.Split(lodo, ","), learner, p, b, balance, asJSON, bar)
			}
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
	f.StringVar(&lodo, "lodo", "", "comma-separated dataset directories: hold out each one that has both classes in turn, train on the rest")
	f.StringVar(&learner, "learner", model.GBT, "one of "+strings.Join(model.Learners, ", "))
	f.BoolVar(&balance, "balance", true, "with --train, weight every training dataset and class equally")
	f.BoolVar(&pools, "pools", false, "with --lodo, try every subset of the other datasets as the training pool (training-data selection)")
	f.BoolVar(&lockstep, "lockstep", false, "measure lockstep detection on synthetic campaigns with ground truth instead")
	f.DurationVar(&spread, "crowd-spread", 0, "with --lockstep, the longest time a crowd's members take to act on one target (0: synth's 5-20 s)")
	f.DurationVar(&window, "lockstep-window", 0, "with --lockstep, the detector's LockstepWindow (0: the default, 20s)")
	f.IntVar(&targets, "lockstep-targets", 0, "with --lockstep, the detector's LockstepTargets (0: the default, 3)")
	f.BoolVar(&asJSON, "json", false, "print one JSON object")
	root.AddCommand(cmd)
}

// runLODO runs the leave-one-dataset-out protocol and prints each held-out
// dataset's result and the mean AUC of the learner and the baseline.
func runLODO(dirs []string, learner string, p, b model.Params, balance, asJSON bool, bar *progressbar.ProgressBar) error {
	sets, names, X, y, err := loadSets(dirs, bar)
	if err != nil {
		return err
	}
	if bar != nil {
		bar.Describe("leave one dataset out")
	}
	held, err := model.LeaveOneOut(names, X, y, p, b, balance, func() {
		if bar != nil {
			bar.Add(1)
		}
	})
	if err != nil {
		return err
	}
	if bar != nil {
		bar.Finish()
	}
	out := struct {
		Protocol    string         `json:"protocol"`
		Learner     string         `json:"learner"`
		Results     []model.Result `json:"results"`
		MeanAUC     float64        `json:"mean_auc"`
		BaselineAUC float64        `json:"baseline_mean_auc"`
	}{Protocol: "leave one dataset out: each dataset with both classes scored by a model trained on all the others", Learner: learner}
	for _, h := range held {
		r := result("train on the other datasets, test on this one", learner, h.Train, sets[h.Test], h.M, h.BM)
		out.Results = append(out.Results, r)
		out.MeanAUC += float64(h.M.AUC) / float64(len(held))
		out.BaselineAUC += float64(h.BM.AUC) / float64(len(held))
	}
	if asJSON {
		return json.NewEncoder(os.Stdout).Encode(out)
	}
	fmt.Printf("%s (%s)\n", out.Protocol, learner)
	fmt.Printf("%-26s %6s %6s %6s %8s %6s %8s\n", "held out", "bots", "humans", "auc", "accuracy", "mcc", "tree auc")
	for _, r := range out.Results {
		fmt.Printf("%-26s %6d %6d %6.3f %8.3f %6.3f %8.3f\n", r.Test, r.Bots, r.Humans, float64(r.AUC), r.Accuracy, r.MCC, float64(r.Baseline.AUC))
	}
	fmt.Printf("%-26s %6s %6s %6.3f %8s %6s %8.3f\n", "mean", "", "", out.MeanAUC, "", "", out.BaselineAUC)
	return nil
}

// loadSets loads each dataset directory and its feature matrix.
func loadSets(dirs []string, bar *progressbar.ProgressBar) (sets []*model.Dataset, names []string, X [][][]float64, y [][]float64, err error) {
	for _, dir := range dirs {
		ds, err := model.Load(dir)
		if err != nil {
			return nil, nil, nil, nil, err
		}
		sets, names = append(sets, ds), append(names, ds.Name)
		X, y = append(X, ds.Matrix()), append(y, ds.Labels)
		if bar != nil {
			bar.Add(1)
		}
	}
	return sets, names, X, y, nil
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
