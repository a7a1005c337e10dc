package main

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/detect"
	"github.com/wardenhq/warden/enforce"
	"github.com/wardenhq/warden/engine"
	"github.com/wardenhq/warden/synth"
)

// benchResult is the output of `warden bench --json` (CONTRACT §6). Fields
// past the contract's are extra detail.
type benchResult struct {
	Events              int     `json:"events"`
	Seconds             float64 `json:"seconds"`
	EventsPerSec        float64 `json:"events_per_sec"`
	RuleEvalsPerSec     float64 `json:"rule_evals_per_sec"`
	P50us               float64 `json:"p50_us"`
	P99us               float64 `json:"p99_us"`
	DecodeEventsPerSec  float64 `json:"decode_events_per_sec"`
	BytesPerCounterKey  float64 `json:"bytes_per_counter_key"`
	Rules               int     `json:"rules"`
	Counters            int     `json:"counters"`
	CampaignRecall      float64 `json:"campaign_recall"`
	FalsePositiveRate   float64 `json:"false_positive_rate"`
	Workers             int     `json:"workers"`
	CounterKeys         int     `json:"counter_keys"`
	CampaignAccounts    int     `json:"campaign_accounts"`
	OrganicAccounts     int     `json:"organic_accounts"`
	CampaignEventRecall float64 `json:"campaign_event_recall"`
	OrganicEventFPR     float64 `json:"organic_event_false_positive_rate"`
	DecodeToEngine      float64 `json:"engine_to_decode_ratio"`
	// RecallByCampaign is the account recall of each campaign kind.
	RecallByCampaign map[string]float64 `json:"recall_by_campaign"`
	// OrganicHitsByRule counts, per rule, the ordinary events it made
	// non-allow verdicts for: where false positives come from.
	OrganicHitsByRule map[string]int `json:"organic_hits_by_rule"`
	Seed              int64          `json:"seed"`
	Detectors         bool           `json:"detectors"`
	// CPU time of the process (all threads, GC included) while evaluating
	// and while decoding: on a shared machine, events per CPU second show
	// what the engine costs regardless of how much CPU it was given.
	EvalCPUSeconds        float64 `json:"eval_cpu_seconds"`
	EventsPerCPUSec       float64 `json:"events_per_cpu_sec"`
	DecodeEventsPerCPUSec float64 `json:"decode_events_per_cpu_sec"`
	RuleEvalsPerCPUSec    float64 `json:"rule_evals_per_cpu_sec"`
	// With --detectors only: every chunk is also evaluated, with the same
	// workers, by an engine without the detectors (the two take turns going
	// first). The plain figures are that engine's; the added cost is the
	// difference per event, in wall time (with Workers goroutines) and in
	// process CPU time. Only these same-run differences are meaningful on a
	// shared machine.
	PlainEventsPerSec          float64 `json:"plain_events_per_sec,omitempty"`
	PlainEventsPerCPUSec       float64 `json:"plain_events_per_cpu_sec,omitempty"`
	DetectorAddedUsPerEvent    float64 `json:"detector_added_us_per_event,omitempty"`
	DetectorAddedCPUUsPerEvent float64 `json:"detector_added_cpu_us_per_event,omitempty"`
	// With --effects only, the same for the effects pipeline: the
	// pack's ladders and safety valves, as warden serve runs them.
	Effects                   bool    `json:"effects,omitempty"`
	EffectsAddedUsPerEvent    float64 `json:"effects_added_us_per_event,omitempty"`
	EffectsAddedCPUUsPerEvent float64 `json:"effects_added_cpu_us_per_event,omitempty"`
	// BreakersTripped names the rules whose breaker the workload tripped.
	BreakersTripped []string `json:"breakers_tripped,omitempty"`
}

func init() {
	var (
		duration time.Duration
		asJSON   bool
		seed     int64
		workers  int
		profile  string
		write    string
		count    int
		detector bool
		effects  bool
	)
	cmd := &cobra.Command{
		Use:   "bench [--duration 10s] [--json]",
		Short: "Run the reference workload through the built-in rule pack and report speed and detection quality",
		Long: `bench generates a deterministic synthetic workload (ordinary accounts plus injected
campaigns: follow and like farms, signup bursts sharing an address, a /24 or a device,
copy-paste scam waves, credential stuffing, account takeover and a lockstep campaign)
and runs it through the built-in rule pack in process, in chunks, until the engine has
spent --duration evaluating. The same events are also only decoded from JSON, in the
same run and with the same parallelism, as the floor to compare against.

campaign_recall is the share of campaign accounts with at least one campaign event whose
verdict is not allow; false_positive_rate is the share of ordinary accounts with any
event whose verdict is not allow.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if duration <= 0 {
				return usagef("--duration must be positive, such as 10s")
			}
			if workers <= 0 {
				workers = runtime.GOMAXPROCS(0)
			}
			if write != "" {
				return writeWorkload(write, seed, count)
			}
			if detector && effects {
				return usagef("--detectors or --effects: each is measured against the pack without it")
			}
			if profile != "" {
				f, err := os.Create(profile)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			res, err := runBench(cmd.Context(), duration, seed, workers, detector, effects, progressTo(cmd, asJSON))
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return json.NewEncoder(out).Encode(res)
			}
			printBench(out, res)
			return nil
		},
	}
	cmd.Flags().DurationVar(&duration, "duration", 10*time.Second, "engine time to spend evaluating")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object (CONTRACT §6)")
	cmd.Flags().Int64Var(&seed, "seed", 1, "workload seed")
	cmd.Flags().IntVar(&workers, "workers", 0, "evaluating goroutines (default GOMAXPROCS)")
	cmd.Flags().StringVar(&profile, "cpuprofile", "", "write a CPU profile of the run to this file")
	cmd.Flags().StringVar(&write, "write", "", "instead of benchmarking, write the workload's events to this JSON Lines file (gzip if it ends in .gz), for warden replay")
	cmd.Flags().IntVar(&count, "count", 1_000_000, "events to write with --write")
	cmd.Flags().BoolVar(&detector, "detectors", false, "also run the built-in detectors (package detect) on every event, as warden serve does")
	cmd.Flags().BoolVar(&effects, "effects", false, "also run the pack's enforcement ladders and safety valves on every event, as warden serve does, and report what they add against the pack without them in the same run")
	root.AddCommand(cmd)
}

func progressTo(cmd *cobra.Command, quiet bool) io.Writer {
	if quiet {
		return io.Discard
	}
	return cmd.ErrOrStderr()
}

type acctTally struct {
	campaign    string // the campaign of the account's campaign events
	campFlagged bool   // a campaign event was not allowed
	orgFlagged  bool   // an ordinary event was not allowed
}

const (
	// benchWarmup is event time evaluated but not scored at the start: a
	// deployed engine starts from its snapshot, not from empty windows
	// that make every busy target look like a sudden crowd.
	benchWarmup = 10 * time.Minute
	benchChunk  = 50000
	benchBlock  = 16
	benchSlice  = 2000 // with --detectors: events per turn of each engine
)

func runBench(ctx context.Context, d time.Duration, seed int64, workers int, detectors, effects bool, progress io.Writer) (*benchResult, error) {
	opts := engine.Options{}
	if detectors {
		opts.Detectors = detect.New(detect.Config{})
	}
	var valves *enforce.Valves
	if effects {
		var err error
		if valves, err = withEffects(&opts); err != nil {
			return nil, err
		}
	}
	eng, err := engine.Open(opts)
	if err != nil {
		return nil, err
	}
	// plain is the same rule pack without the detectors (or the
	// effects), the baseline for their added cost.
	var plain *engine.Engine
	var plainVerdicts []warden.Verdict
	if detectors || effects {
		if plain, err = engine.Open(engine.Options{}); err != nil {
			return nil, err
		}
		plainVerdicts = make([]warden.Verdict, benchChunk)
	}
	gen := synth.New(synth.Config{Seed: seed})
	res := &benchResult{Workers: workers, Seed: seed, Detectors: detectors, Effects: effects, RecallByCampaign: map[string]float64{}, OrganicHitsByRule: map[string]int{}}
	rs := eng.RuleSet()
	res.Rules, res.Counters = rs.Rules(), rs.Counters()

	accts := map[string]*acctTally{}
	var scoreFrom time.Time
	var campEvents, campFlagged, orgEvents, orgFlagged int
	var lat []uint32
	var evalTime, decodeTime, evalCPU, decodeCPU, plainTime, plainCPU time.Duration
	turn := 0 // slices evaluated, for taking turns
	evs := make([]warden.Event, benchChunk)
	truths := make([]synth.Truth, benchChunk)
	lines := make([][]byte, benchChunk)
	verdicts := make([]warden.Verdict, benchChunk)
	// After --duration, campaigns stop and the run goes on until the last
	// one has played out, so no campaign account is judged on half its
	// events.
	for evalTime < d || gen.CampaignsInFlight() > 0 {
		if evalTime >= d {
			gen.StopCampaigns()
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for i := range evs {
			evs[i], truths[i] = gen.Next()
			if scoreFrom.IsZero() {
				scoreFrom = evs[i].Time.Add(benchWarmup)
			}
			b, err := json.Marshal(&evs[i])
			if err != nil {
				return nil, err
			}
			lines[i] = b
		}
		// Decode only, with the engine's parallelism.
		cpu0 := cpuTime()
		start := time.Now()
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := w; i < len(lines); i += workers {
					if _, err := warden.DecodeEvent(lines[i]); err != nil {
						panic(fmt.Sprintf("bench: generated event does not decode: %v", err))
					}
				}
			}(w)
		}
		wg.Wait()
		decodeTime += time.Since(start)
		decodeCPU += cpuTime() - cpu0

		// Evaluate (see evalChunk). With --detectors every slice of
		// benchSlice events also goes through an engine without them, the
		// two taking turns to go first, so the detectors' cost is measured
		// against a baseline from the same run and the same moments: on a
		// shared machine, other processes' bursts hit both alike.
		step := len(evs)
		if plain != nil {
			step = benchSlice
		}
		for lo := 0; lo < len(evs); lo += step {
			hi := min(lo+step, len(evs))
			if plain != nil && turn%2 == 1 {
				w, c, _ := evalChunk(ctx, "plain", plain, evs[lo:hi], plainVerdicts[lo:hi], workers)
				plainTime, plainCPU = plainTime+w, plainCPU+c
			}
			w, c, ls := evalChunk(ctx, "main", eng, evs[lo:hi], verdicts[lo:hi], workers)
			evalTime, evalCPU = evalTime+w, evalCPU+c
			lat = append(lat, ls...)
			if plain != nil && turn%2 == 0 {
				w, c, _ := evalChunk(ctx, "plain", plain, evs[lo:hi], plainVerdicts[lo:hi], workers)
				plainTime, plainCPU = plainTime+w, plainCPU+c
			}
			turn++
		}
		for i := range evs {
			if evs[i].Time.Before(scoreFrom) {
				continue
			}
			flag := verdicts[i].Action != warden.ActionAllow
			a := accts[evs[i].Actor]
			if a == nil {
				a = &acctTally{}
				accts[evs[i].Actor] = a
			}
			if truths[i].Campaign != "" {
				a.campaign = truths[i].Campaign
				campEvents++
				if flag {
					campFlagged++
					a.campFlagged = true
				}
			} else {
				orgEvents++
				if flag {
					orgFlagged++
					a.orgFlagged = true
					for _, h := range verdicts[i].Hits {
						if h.Action != warden.ActionAllow && h.Mode != warden.ModeShadow {
							res.OrganicHitsByRule[h.Rule]++
						}
					}
				}
			}
		}
		res.Events += len(evs)
		fmt.Fprintf(progress, "\rbench: %d events, %.1fs of %.0fs evaluating", res.Events, evalTime.Seconds(), d.Seconds())
	}
	fmt.Fprintln(progress)
	st := eng.Stats()
	res.Seconds = round3(evalTime.Seconds())
	res.EventsPerSec = round3(float64(res.Events) / evalTime.Seconds())
	res.RuleEvalsPerSec = round3(float64(st.RuleEvals) / evalTime.Seconds())
	res.DecodeEventsPerSec = round3(float64(res.Events) / decodeTime.Seconds())
	res.DecodeToEngine = round3(res.EventsPerSec / res.DecodeEventsPerSec)
	res.EvalCPUSeconds = round3(evalCPU.Seconds())
	res.EventsPerCPUSec = round3(float64(res.Events) / evalCPU.Seconds())
	res.RuleEvalsPerCPUSec = round3(float64(st.RuleEvals) / evalCPU.Seconds())
	res.DecodeEventsPerCPUSec = round3(float64(res.Events) / decodeCPU.Seconds())
	if plain != nil {
		n := float64(res.Events)
		res.PlainEventsPerSec = round3(n / plainTime.Seconds())
		res.PlainEventsPerCPUSec = round3(n / plainCPU.Seconds())
		added, addedCPU := round3(float64(evalTime-plainTime)/1e3/n), round3(float64(evalCPU-plainCPU)/1e3/n)
		if detectors {
			res.DetectorAddedUsPerEvent, res.DetectorAddedCPUUsPerEvent = added, addedCPU
		} else {
			res.EffectsAddedUsPerEvent, res.EffectsAddedCPUUsPerEvent = added, addedCPU
			for _, b := range valves.Breakers() {
				res.BreakersTripped = append(res.BreakersTripped, b.Rule)
			}
		}
	}
	slices.Sort(lat)
	res.P50us = round3(float64(lat[len(lat)/2]) / 1000)
	res.P99us = round3(float64(lat[len(lat)*99/100]) / 1000)

	var camp, campHit, org, orgHit int
	byCamp := map[string][2]int{}
	for actor, a := range accts {
		// An account taken over mid-run was ordinary until then: it is
		// judged on its campaign events, like the bots.
		if a.campaign == "" {
			a.campaign = gen.Account(actor).Campaign
		}
		if a.campaign != "" {
			camp++
			c := byCamp[a.campaign]
			c[0]++
			if a.campFlagged {
				campHit++
				c[1]++
			}
			byCamp[a.campaign] = c
		} else {
			org++
			if a.orgFlagged {
				orgHit++
			}
		}
	}
	res.CampaignAccounts, res.OrganicAccounts = camp, org
	res.CampaignRecall = ratio(campHit, camp)
	res.FalsePositiveRate = ratio(orgHit, org)
	res.CampaignEventRecall = ratio(campFlagged, campEvents)
	res.OrganicEventFPR = ratio(orgFlagged, orgEvents)
	for k, c := range byCamp {
		res.RecallByCampaign[k] = ratio(c[1], c[0])
	}

	// Bytes per counter key: the heap the engine holds, over its keys.
	evs, lines, lat, accts, plain, plainVerdicts = nil, nil, nil, nil, nil, nil
	res.CounterKeys = eng.Stats().Keys
	runtime.GC()
	var with, without runtime.MemStats
	runtime.ReadMemStats(&with)
	runtime.KeepAlive(eng)
	eng = nil
	runtime.GC()
	runtime.ReadMemStats(&without)
	if res.CounterKeys > 0 && with.HeapAlloc > without.HeapAlloc {
		res.BytesPerCounterKey = round3(float64(with.HeapAlloc-without.HeapAlloc) / float64(res.CounterKeys))
	}
	return res, nil
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return round6(float64(a) / float64(b))
}

func round3(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }
func round6(f float64) float64 { return float64(int64(f*1e6+0.5)) / 1e6 }

func printBench(w io.Writer, r *benchResult) {
	fmt.Fprintf(w, "events               %d in %.2fs of evaluation (%d workers)\n", r.Events, r.Seconds, r.Workers)
	fmt.Fprintf(w, "events/s             %.0f  (decode only: %.0f; ratio %.2f)\n", r.EventsPerSec, r.DecodeEventsPerSec, r.DecodeToEngine)
	fmt.Fprintf(w, "rule evaluations/s   %.0f\n", r.RuleEvalsPerSec)
	fmt.Fprintf(w, "per CPU second       %.0f events, %.0f rule evaluations (decode only: %.0f events)\n", r.EventsPerCPUSec, r.RuleEvalsPerCPUSec, r.DecodeEventsPerCPUSec)
	fmt.Fprintf(w, "latency              p50 %.1fµs  p99 %.1fµs\n", r.P50us, r.P99us)
	if r.Detectors {
		fmt.Fprintf(w, "detectors            +%.2fµs per event wall, +%.2fµs CPU (same run without them: %.0f events/s, %.0f per CPU second)\n",
			r.DetectorAddedUsPerEvent, r.DetectorAddedCPUUsPerEvent, r.PlainEventsPerSec, r.PlainEventsPerCPUSec)
	}
	if r.Effects {
		fmt.Fprintf(w, "ladders and valves   %+.2fµs per event wall, %+.2fµs CPU (same run without them: %.0f events/s, %.0f per CPU second)\n",
			r.EffectsAddedUsPerEvent, r.EffectsAddedCPUUsPerEvent, r.PlainEventsPerSec, r.PlainEventsPerCPUSec)
		fmt.Fprintf(w, "breakers tripped     %d %v\n", len(r.BreakersTripped), r.BreakersTripped)
	}
	fmt.Fprintf(w, "state                %d counter keys, %.0f bytes each\n", r.CounterKeys, r.BytesPerCounterKey)
	fmt.Fprintf(w, "rule pack            %d rules, %d counters\n", r.Rules, r.Counters)
	fmt.Fprintf(w, "campaign recall      %.4f of %d accounts (events: %.4f)\n", r.CampaignRecall, r.CampaignAccounts, r.CampaignEventRecall)
	fmt.Fprintf(w, "false positive rate  %.4f of %d accounts (events: %.5f)\n", r.FalsePositiveRate, r.OrganicAccounts, r.OrganicEventFPR)
	keys := make([]string, 0, len(r.RecallByCampaign))
	for k := range r.RecallByCampaign {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  recall %-20s %.4f\n", k, r.RecallByCampaign[k])
	}
	keys = keys[:0]
	for k := range r.OrganicHitsByRule {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return r.OrganicHitsByRule[b] - r.OrganicHitsByRule[a] })
	for _, k := range keys {
		fmt.Fprintf(w, "  ordinary events flagged by %-30s %d\n", k, r.OrganicHitsByRule[k])
	}
}

// writeWorkload writes n events of the reference workload as JSON Lines.
func writeWorkload(path string, seed int64, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var w io.Writer = f
	var zw *gzip.Writer
	if strings.HasSuffix(path, ".gz") {
		zw = gzip.NewWriter(f)
		w = zw
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	enc := json.NewEncoder(bw)
	gen := synth.New(synth.Config{Seed: seed})
	for i := 0; i < n; i++ {
		ev, _ := gen.Next()
		if err := enc.Encode(&ev); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return err
		}
	}
	return f.Close()
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// evalChunk evaluates evs with eng on workers goroutines, which take events
// in event-time order from a shared cursor, a few at a time, as a server's
// concurrent requests would arrive, so no worker runs ahead of the others'
// event time. It returns the wall and process CPU time it took and each
// event's latency in ns. The workers carry the profiler label engine=name
// (main, or plain for the engine without detectors), so a --cpuprofile can
// be split by engine with pprof -tagfocus.
func evalChunk(ctx context.Context, name string, eng *engine.Engine, evs []warden.Event, verdicts []warden.Verdict, workers int) (wall, cpu time.Duration, lat []uint32) {
	var next atomic.Int64
	var wg sync.WaitGroup
	lats := make([][]uint32, workers)
	cpu0 := cpuTime()
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go pprof.Do(ctx, pprof.Labels("engine", name), func(ctx context.Context) {
			defer wg.Done()
			l := make([]uint32, 0, len(evs)/workers+benchBlock)
			for {
				lo := int(next.Add(benchBlock)) - benchBlock
				if lo >= len(evs) {
					break
				}
				for i := lo; i < min(lo+benchBlock, len(evs)); i++ {
					t0 := time.Now()
					verdicts[i] = eng.Evaluate(ctx, &evs[i])
					l = append(l, uint32(time.Since(t0)))
				}
			}
			lats[w] = l
		})
	}
	wg.Wait()
	wall, cpu = time.Since(start), cpuTime()-cpu0
	lat = make([]uint32, 0, len(evs))
	for _, l := range lats {
		lat = append(lat, l...)
	}
	return wall, cpu, lat
}
