package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/wardenhq/warden/detect"
	"github.com/wardenhq/warden/synth"
)

// lockstepRun is one workload's lockstep detection result.
type lockstepRun struct {
	Workload string `json:"workload"`
	detect.LockstepReport
}

// lockstepTruth is synth's ground truth as EvalLockstep reads it: members
// of the fast and drip-fed lockstep campaigns; every other account counts
// as not lockstep, campaign bots of other kinds included (they are
// reported apart).
func lockstepTruth(truths []synth.Truth) []detect.LockstepTruth {
	out := make([]detect.LockstepTruth, len(truths))
	for i, tr := range truths {
		switch tr.Campaign {
		case synth.Lockstep, synth.LockstepDrip:
			out[i] = detect.LockstepTruth{Run: tr.RunKey(), Kind: tr.Campaign}
		case "", synth.AccountTakeover: // a taken-over account is a person's
		default:
			out[i] = detect.LockstepTruth{Kind: tr.Campaign}
		}
	}
	return out
}

// runLockstep measures lockstep detection on synth's workload, whose
// campaigns carry ground truth: the default mix (every campaign kind,
// creator drops every 5 minutes), and a held-out shape (more accounts, a
// higher rate, only lockstep campaigns, creator drops every minute) that
// was run once, after the detector's settings were chosen.
// spread, if not 0, widens the crowds (synth.Config.CrowdSpread); window
// and targets, if not 0, set the detector's LockstepWindow and
// LockstepTargets.
func runLockstep(seed uint64, spread, window time.Duration, targets int, asJSON bool) error {
	var runs []lockstepRun
	for _, w := range []struct {
		name string
		cfg  synth.Config
		d    time.Duration
	}{
		{"synth default mix, 2 h", synth.Config{Seed: int64(seed)}, 2 * time.Hour},
		{"held-out: lockstep and drops only, 1 h", synth.Config{Seed: int64(seed) + 1000, Accounts: 40000, Rate: 300,
			Kinds: []string{synth.Lockstep, synth.LockstepDrip}, Every: 3 * time.Minute, Drops: time.Minute}, time.Hour},
	} {
		w.cfg.CrowdSpread = spread
		evs, truths := synth.Collect(w.cfg, w.d)
		bar := newBar(asJSON, len(evs), "lockstep: "+w.name)
		r := detect.EvalLockstep(detect.New(detect.Config{NoModel: true, HashSeed: seed + 1, LockstepWindow: window, LockstepTargets: targets}), evs, lockstepTruth(truths), detect.LockstepFlagGroup, time.Minute, bar.set)
		bar.done()
		runs = append(runs, lockstepRun{w.name, r})
	}
	if asJSON {
		out := map[string]any{"flag_group": detect.LockstepFlagGroup, "deadline_s": 60, "runs": runs}
		if spread != 0 || window != 0 || targets != 0 {
			out["crowd_spread_s"], out["lockstep_window_s"], out["lockstep_targets"] = spread.Seconds(), window.Seconds(), targets
		}
		return json.NewEncoder(os.Stdout).Encode(out)
	}
	fmt.Printf("lockstep: flagged when the group reaches %d accounts; recall counts members flagged within 60 s of event time after their campaign starts\n", detect.LockstepFlagGroup)
	if spread != 0 || window != 0 || targets != 0 {
		fmt.Printf("crowd spread %v (0: synth's 5-20 s), lockstep window %v, shared targets %d (0: the defaults)\n", spread, window, targets)
	}
	fmt.Printf("%-42s %-14s %8s %8s %9s %8s %10s %s\n", "workload", "campaigns", "members", "recall", "precision", "ever", "median s", "false (bots)")
	for _, r := range runs {
		fmt.Printf("%-42s %-14s %8d %8.3f %9.3f %8s %10.1f %d (%d)\n", r.Workload, "all", r.Members, r.Recall, r.Precision, "", r.MedianDelayS, r.FalseFlagged, r.FalseFlaggedBots)
		kinds := make([]string, 0, len(r.ByKind))
		for k := range r.ByKind {
			kinds = append(kinds, k)
		}
		slices.Sort(kinds)
		for _, k := range kinds {
			kr := r.ByKind[k]
			fmt.Printf("%-42s %-14s %8d %8.3f %9s %8d %10.1f\n", "", k, kr.Members, kr.Recall, "", kr.FlaggedEver, kr.MedianDelayS)
		}
	}
	return nil
}
