package engine

import (
	"context"
	"io/fs"
	"log/slog"
	"testing"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/engine/state"
	"github.com/wardenhq/warden/rules"
	"github.com/wardenhq/warden/synth"
)

func synthEvents(n int) []warden.Event {
	g := synth.New(synth.Config{Seed: 1})
	evs := make([]warden.Event, n)
	for i := range evs {
		evs[i], _ = g.Next()
	}
	return evs
}

// BenchmarkEvaluate runs the reference workload through the built-in pack
// on one goroutine.
func BenchmarkEvaluate(b *testing.B) {
	evs := synthEvents(200000)
	e, err := Open(Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		e.Evaluate(ctx, &evs[i%len(evs)])
		i++
	}
	b.ReportMetric(float64(e.Stats().RuleEvals)/float64(e.Stats().Events), "rules/event")
}

// BenchmarkDecode decodes the same workload's events from JSON, the floor
// BenchmarkEvaluate is compared against.
func BenchmarkDecode(b *testing.B) {
	evs := synthEvents(20000)
	lines := make([][]byte, len(evs))
	for i := range evs {
		lines[i], _ = jsonMarshal(&evs[i])
	}
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if _, err := warden.DecodeEvent(lines[i%len(lines)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

func newStore() *state.Store { return state.New() }

func packFS() fs.FS { return rules.FS }
