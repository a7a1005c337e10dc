package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/schollz/progressbar/v3"
	"github.com/wardenhq/warden/model"
)

type poolHeld struct {
	Test          string   `json:"test"`
	AllDataAUC    float64  `json:"all_data_auc"`
	BestPolicyAUC float64  `json:"best_policy_auc"`
	NestedTrain   []string `json:"nested_train"`
	NestedInner   float64  `json:"nested_inner_mean_auc"`
	NestedAUC     float64  `json:"nested_auc"`
	BaselineAUC   float64  `json:"nested_baseline_auc"`
	// The pool that scores this set best, found by looking at it: how far
	// selection could go at most, not a result.
	OracleTrain []string `json:"oracle_train"`
	OracleAUC   float64  `json:"oracle_auc"`
}

type poolReport struct {
	Protocol          string     `json:"protocol"`
	Learner           string     `json:"learner"`
	Fitted            int        `json:"pools_fitted"`
	HeldOut           []poolHeld `json:"held_out"`
	AllDataMeanAUC    float64    `json:"all_data_mean_auc"`
	BestPolicy        []string   `json:"best_policy"`
	BestPolicyMeanAUC float64    `json:"best_policy_mean_auc"`
	NestedMeanAUC     float64    `json:"nested_mean_auc"`
	BaselineMeanAUC   float64    `json:"nested_baseline_mean_auc"`
}

// runPools runs training-data selection: every subset of the other datasets
// as the training pool of every held-out set, then the best pool over all
// held-out sets (optimistic) and nested selection (honest).
func runPools(dirs []string, learner string, p, b model.Params, balance, asJSON bool, bar *progressbar.ProgressBar) error {
	_, names, X, y, err := loadSets(dirs, bar)
	if err != nil {
		return err
	}
	if bar != nil {
		bar.Describe("training pools")
	}
	ps, err := model.SearchPools(names, X, y, p, balance, func(n int) {
		if bar != nil {
			bar.ChangeMax(n)
			bar.Reset()
		}
	}, func() {
		if bar != nil {
			bar.Add(1)
		}
	})
	if err != nil {
		return err
	}
	best, bestMean := ps.Best(ps.Tests, 0)
	rep := poolReport{
		Protocol: "training-data selection: every subset of the other datasets as the training pool of each held-out set; " +
			"nested: the pool chosen on the other held-out sets only",
		Learner: learner, BestPolicy: ps.PolicyNames(best), BestPolicyMeanAUC: bestMean,
	}
	rep.Fitted = ps.Fitted()
	nested := ps.Nested()
	for _, n := range nested {
		bt, err := ps.HeldOut(n.Test, n.Policy, b)
		if err != nil {
			return err
		}
		ba, _ := ps.AUC(n.Test, best)
		op, oa := ps.Best([]int{n.Test}, 1<<n.Test)
		h := poolHeld{Test: names[n.Test], AllDataAUC: n.AllAUC, BestPolicyAUC: ba, NestedTrain: ps.PolicyNames(n.Policy),
			NestedInner: n.InnerMean, NestedAUC: n.AUC, BaselineAUC: bt, OracleTrain: ps.PolicyNames(op), OracleAUC: oa}
		rep.HeldOut = append(rep.HeldOut, h)
		k := float64(len(nested))
		rep.AllDataMeanAUC += n.AllAUC / k
		rep.NestedMeanAUC += n.AUC / k
		rep.BaselineMeanAUC += bt / k
	}
	if bar != nil {
		bar.Finish()
	}
	if asJSON {
		return json.NewEncoder(os.Stdout).Encode(rep)
	}
	fmt.Printf("training-data selection (%s): %d pools fitted\n", learner, rep.Fitted)
	fmt.Printf("best pool over all held-out sets (optimistic, they chose it): %s\n", strings.Join(rep.BestPolicy, ", "))
	fmt.Printf("%-26s %8s %8s %8s %8s %8s  %s\n", "held out", "all data", "best", "nested", "inner", "tree", "nested pool (chosen on the other held-out sets)")
	for _, h := range rep.HeldOut {
		fmt.Printf("%-26s %8.3f %8.3f %8.3f %8.3f %8.3f  %s\n", h.Test, h.AllDataAUC, h.BestPolicyAUC, h.NestedAUC, h.NestedInner, h.BaselineAUC, strings.Join(h.NestedTrain, ", "))
	}
	fmt.Printf("%-26s %8.3f %8.3f %8.3f %8s %8.3f\n", "mean", rep.AllDataMeanAUC, rep.BestPolicyMeanAUC, rep.NestedMeanAUC, "", rep.BaselineMeanAUC)
	fmt.Println("upper bound, not a result: the pool that scores each set best, chosen by looking at it")
	for _, h := range rep.HeldOut {
		fmt.Printf("%-26s %8.3f  %s\n", h.Test, h.OracleAUC, strings.Join(h.OracleTrain, ", "))
	}
	return nil
}
