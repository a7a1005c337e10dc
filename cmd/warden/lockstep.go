package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/detect"
	"github.com/wardenhq/warden/synth"
)

// lockstepRun is one workload's lockstep detection result.
type lockstepRun struct {
	Workload string `json:"workload"`
	detect.LockstepReport
}

// runLockstep measures lockstep detection on synthetic campaigns with
// ground truth: the detect package's generator with its default shape (the
// one the detector's settings were chosen on), a held-out shape (smaller,
// faster crowds and more creator drops, not used to choose anything), and
// the synth package's lockstep campaigns (another engineer's generator).
func runLockstep(seed uint64, asJSON bool) error {
	var runs []lockstepRun
	for _, w := range []struct {
		name string
		cfg  detect.CampaignConfig
	}{
		{"detect generator, default shape", detect.CampaignConfig{Seed: seed}},
		{"detect generator, held-out shape", detect.CampaignConfig{Seed: seed + 1000, Members: 10, Targets: 8, Pace: 6 * time.Second,
			Jitter: 10 * time.Second, Campaigns: 8, Drops: 30, Rate: 300, Duration: 40 * time.Minute}},
	} {
		evs, truth := detect.GenerateCampaigns(w.cfg)
		r := detect.EvalLockstep(detect.New(detect.Config{NoModel: true}), evs, truth.Member, truth.Start, detect.LockstepFlagGroup, time.Minute)
		runs = append(runs, lockstepRun{w.name, r})
	}
	// synth: one hour of its workload with only lockstep campaigns injected.
	g := synth.New(synth.Config{Seed: int64(seed), Kinds: []string{synth.Lockstep}, Every: 4 * time.Minute})
	var evs []warden.Event
	member, start := map[string]string{}, map[string]time.Time{}
	end := time.Date(2026, 1, 5, 1, 0, 0, 0, time.UTC)
	for {
		ev, tr := g.Next()
		if ev.Time.After(end) {
			break
		}
		if tr.Campaign == synth.Lockstep {
			// synth does not name campaign instances; each member's own
			// first campaign event stands for its campaign's start.
			if _, ok := member[ev.Actor]; !ok {
				member[ev.Actor], start[ev.Actor] = ev.Actor, ev.Time
			}
		}
		evs = append(evs, ev)
	}
	r := detect.EvalLockstep(detect.New(detect.Config{NoModel: true}), evs, member, start, detect.LockstepFlagGroup, time.Minute)
	runs = append(runs, lockstepRun{"synth lockstep campaigns (targets 30s-3m apart)", r})
	if asJSON {
		return json.NewEncoder(os.Stdout).Encode(map[string]any{"flag_group": detect.LockstepFlagGroup, "deadline_s": 60, "runs": runs})
	}
	fmt.Printf("lockstep: flagged when the group reaches %d accounts; recall counts members flagged within 60 s of event time after their campaign starts\n", detect.LockstepFlagGroup)
	fmt.Printf("%-50s %8s %8s %9s %8s %10s\n", "workload", "members", "recall", "precision", "flagged", "median s")
	for _, r := range runs {
		fmt.Printf("%-50s %8d %8.3f %9.3f %8d %10.1f\n", r.Workload, r.Members, r.Recall, r.Precision, r.Flagged, r.MedianDelayS)
	}
	return nil
}
