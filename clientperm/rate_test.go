package clientperm

import (
	"fmt"
	"testing"
)

// TestRateRuleAgainstTheFeaturesOwnDistribution: a permission without an
// absolute limit is judged against the feature's own user-minutes (median
// and MAD), so one client far outside them is flagged, a busy but uniform
// feature is not, and a small sample is left alone.
func TestRateRuleAgainstTheFeaturesOwnDistribution(t *testing.T) {
	r := RateRule{PerMinute: map[string]int64{Clipboard: 6}}.withDefaults()
	var ms []MinuteCount
	for i := range 60 {
		// photos has no limit in this rule: only the distribution judges it.
		ms = append(ms, MinuteCount{UserHash: fmt.Sprint("u", i), Feature: "gallery", Permission: Photos, Minute: int64(i), Count: int64(10 + i%5)})
		// A uniformly busy feature: 40 a minute for everyone.
		ms = append(ms, MinuteCount{UserHash: fmt.Sprint("u", i), Feature: "slideshow", Permission: Photos, Minute: int64(i), Count: 40})
	}
	ms = append(ms, MinuteCount{UserHash: "scraper", Feature: "gallery", Permission: Photos, Minute: 7, Count: 400})
	// A small sample: not enough to judge by distribution.
	ms = append(ms, MinuteCount{UserHash: "a", Feature: "rare", Permission: Photos, Count: 1}, MinuteCount{UserHash: "b", Feature: "rare", Permission: Photos, Count: 300})
	got := r.anomalies(ms)
	if len(got) != 1 || got[0].feature != "gallery" || got[0].reads != 400 || got[0].users != 1 {
		t.Fatalf("anomalies %+v, want the scraper's 400 gallery reads", got)
	}
	// The same scraper within the feature's spread is not flagged.
	ms[len(ms)-3].Count = 16
	if got := r.anomalies(ms); len(got) != 0 {
		t.Errorf("anomalies %+v, want none", got)
	}
	// The absolute limit applies whatever the distribution.
	clip := []MinuteCount{{UserHash: "x", Feature: "compose", Permission: Clipboard, Count: 7}, {UserHash: "y", Feature: "compose", Permission: Clipboard, Count: 6}}
	if got := r.anomalies(clip); len(got) != 1 || got[0].reads != 7 {
		t.Errorf("anomalies %+v, want x's 7 reads over the limit of 6", got)
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}
