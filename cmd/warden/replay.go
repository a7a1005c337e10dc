package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/wardenhq/warden/detect"
	"github.com/wardenhq/warden/engine"
)

// replayOutput is what `warden replay --json` prints.
type replayOutput struct {
	engine.ReplayStats
	Rules string `json:"rules"`
	// LoadSeconds is the time to read, decode, validate and sort the events,
	// before the replay proper (Seconds).
	LoadSeconds float64            `json:"load_seconds"`
	Diff        *engine.DiffReport `json:"diff,omitempty"`
}

func init() {
	var (
		events, rulesDir, diffDir string
		asJSON, detectors         bool
	)
	cmd := &cobra.Command{
		Use:   "replay --events FILE [--rules DIR] [--json] [--diff DIR]",
		Short: "Replay an event file in event-time order through a fresh state; with --diff, compare a candidate rule set",
		Long: `replay reads JSON Lines events (gzip-compressed or not), sorts them by event time and
evaluates them through the rule set (--rules DIR, or the built-in pack) with fresh
counters, one event at a time, so a replay of the same events always gives the same
verdicts. The built-in detectors (bot-likeness, lockstep, near-duplicate text, linked
accounts) run on every event as in serve, from a fresh state, so rules reading
detect.* see what they would have seen live; --detectors=false replays the rules
alone. It prints the hits of every rule and the events per second.

--diff DIR replays the candidate rule set in DIR beside the current one (each with its
own state) and reports the verdicts that would change, by rule.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if events == "" {
				return usagef("replay needs --events FILE (JSON Lines, optionally gzip)")
			}
			cur, err := engine.CompileDir(rulesDir, engine.CompileOptions{})
			if err != nil {
				return rulesError(cmd, err)
			}
			var cand *engine.RuleSet
			if diffDir != "" {
				if cand, err = engine.CompileDir(diffDir, engine.CompileOptions{}); err != nil {
					return rulesError(cmd, err)
				}
			}
			// A replay holds every event in memory at once: collect less
			// often, trading memory for the time a growing heap costs.
			defer debug.SetGCPercent(debug.SetGCPercent(400))
			loadStart := time.Now()
			evs, err := engine.ReadEvents(events)
			if err != nil {
				return fmt.Errorf("%s: %w", events, err)
			}
			load := time.Since(loadStart).Seconds()
			bar := newBar(asJSON, len(evs), "replay")
			stats, err := engine.Replay(cmd.Context(), cur, evs, replayDetectors(detectors), nil, bar.set)
			bar.done()
			if err != nil {
				return err
			}
			out := replayOutput{ReplayStats: stats, Rules: orBuiltin(rulesDir), LoadSeconds: load}
			if cand != nil {
				bar := newBar(asJSON, len(evs), "diff")
				rep, err := engine.Diff(cmd.Context(), cur, cand, evs, replayDetectors(detectors), bar.set)
				bar.done()
				if err != nil {
					return err
				}
				out.Diff = &rep
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(out)
			}
			printReplay(cmd.OutOrStdout(), &out, diffDir)
			return nil
		},
	}
	cmd.Flags().StringVar(&events, "events", "", "JSON Lines event file, optionally gzip")
	cmd.Flags().StringVar(&rulesDir, "rules", "", "rule set directory (default: the built-in pack)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	cmd.Flags().StringVar(&diffDir, "diff", "", "candidate rule set to compare against the current one")
	cmd.Flags().BoolVar(&detectors, "detectors", true, "run the built-in detectors on every event, as serve does")
	root.AddCommand(cmd)
}

// replayDetectors returns fresh detectors for a replay, with fixed
// hashing so that replays repeat exactly, or nil with --detectors=false.
func replayDetectors(on bool) *detect.Set {
	if !on {
		return nil
	}
	return detect.New(detect.Config{HashSeed: 1})
}

func orBuiltin(dir string) string {
	if dir == "" {
		return "built-in"
	}
	return dir
}

// bar is a progress bar on a terminal, and nothing otherwise.
type bar struct{ pb *progressbar.ProgressBar }

func newBar(quiet bool, n int, what string) bar {
	if quiet || !term.IsTerminal(int(os.Stderr.Fd())) {
		return bar{}
	}
	return bar{progressbar.NewOptions(n, progressbar.OptionSetWriter(os.Stderr), progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(), progressbar.OptionClearOnFinish(), progressbar.OptionThrottle(100_000_000))}
}

func (b bar) set(n int) {
	if b.pb != nil {
		b.pb.Set(n)
	}
}

func (b bar) done() {
	if b.pb != nil {
		b.pb.Finish()
	}
}

func printReplay(w io.Writer, o *replayOutput, diffDir string) {
	fmt.Fprintf(w, "replayed %d events through %s rules in %.2fs (%.0f events/s), after %.2fs reading them\n", o.Events, o.Rules, o.Seconds, o.EventsPerSec, o.LoadSeconds)
	acts := make([]string, 0, len(o.Actions))
	for a, n := range o.Actions {
		acts = append(acts, fmt.Sprintf("%s %d", a, n))
	}
	sort.Strings(acts)
	fmt.Fprintf(w, "verdicts: %s\n", strings.Join(acts, ", "))
	names := make([]string, 0, len(o.Hits))
	for r := range o.Hits {
		names = append(names, r)
	}
	sort.Slice(names, func(i, j int) bool {
		if o.Hits[names[i]] != o.Hits[names[j]] {
			return o.Hits[names[i]] > o.Hits[names[j]]
		}
		return names[i] < names[j]
	})
	fmt.Fprintln(w, "hits by rule:")
	for _, r := range names {
		fmt.Fprintf(w, "  %8d  %s\n", o.Hits[r], r)
	}
	if d := o.Diff; d != nil {
		fmt.Fprintf(w, "\ncandidate %s changes %d of %d verdicts\n", diffDir, d.Changed, d.Events)
		for _, r := range d.ByRule {
			fmt.Fprintf(w, "  %-40s +%d -%d  e.g. %s\n", r.Rule, r.Added, r.Removed, strings.Join(r.Examples, ", "))
		}
		for _, c := range d.Changes {
			fmt.Fprintf(w, "  event %s: %s -> %s", c.EventID, c.Before, c.After)
			if len(c.Added) > 0 {
				fmt.Fprintf(w, "  new hits: %s", strings.Join(c.Added, ", "))
			}
			if len(c.Removed) > 0 {
				fmt.Fprintf(w, "  gone: %s", strings.Join(c.Removed, ", "))
			}
			fmt.Fprintln(w)
		}
	}
}
