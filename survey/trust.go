package survey

import (
	"runtime"
	"slices"
	"sync"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/insights"
)

// Experience is what the platform did around one respondent's account,
// found by their platform id.
type Experience struct {
	// Exposed: the account received an event from an account that was
	// later restricted by a decision not reversed.
	Exposed bool
	// Reports the account made; Decided of them have a decision, Actioned
	// of those a restriction.
	Reports, Decided, Actioned int
}

// Experience groups (keys of RegionTrust.ByExperience).
const (
	GroupExposed      = "exposed_to_actioned"
	GroupReported     = "reported"
	GroupReportResult = "report_outcome"
)

// TrustReport is the trust index of one wave per region, with its change
// from the wave before, its drivers, and its split by platform experience
// and by the codebook's categorical columns.
type TrustReport struct {
	Wave      string        `json:"wave"`
	Previous  string        `json:"previous_wave,omitempty"`
	Waves     []string      `json:"waves"`
	TrustItem string        `json:"trust_item"`
	Regions   []RegionTrust `json:"regions"`
	Trend     []TrendPoint  `json:"trend"`
}

// RegionTrust is one region's figures in a wave.
type RegionTrust struct {
	Region string `json:"region"`
	insights.TrustIndex
	// Change is from the previous wave, when it has this region.
	Change *TrustChange `json:"change,omitempty"`
	// Drivers of the trust item among the other items (nil with
	// DriversError when they cannot be computed, e.g. too few answers).
	Drivers      *insights.Drivers `json:"drivers,omitempty"`
	DriversError string            `json:"drivers_error,omitempty"`
	// Linked counts respondents with a platform id.
	Linked int `json:"linked"`
	// ByExperience splits the trust index: GroupExposed and GroupReported
	// ("yes"/"no", among linked respondents), GroupReportResult
	// ("actioned"/"not_actioned"/"pending", among reporters), and each
	// categorical column by level. Groups under two answers are left out.
	ByExperience map[string]map[string]insights.TrustIndex `json:"by_experience"`
	// Notes are the wave's interview notes of the region (AttachNotes);
	// a note's experience names the ByExperience split it speaks to.
	Notes []Note `json:"notes"`
}

// TrustChange is the wave-to-wave change of both figures.
type TrustChange struct {
	From   string          `json:"from_wave"`
	TopBox insights.Change `json:"top2"`
	Mean   insights.Change `json:"mean"`
}

// TrendPoint is one wave's trust in one region.
type TrendPoint struct {
	Wave   string            `json:"wave"`
	Region string            `json:"region"`
	N      int               `json:"n"`
	TopBox insights.Estimate `json:"top2"`
	Mean   insights.Estimate `json:"mean"`
}

// AnalyzeTrust computes the trust report of waves[at] (waves oldest
// first), for one region or, with region "", every region in it. exp maps
// platform hashes to experience; a linked respondent not in it had none.
func AnalyzeTrust(waves []*Wave, at int, region string, exp map[string]Experience, opt insights.DriverOptions) (*TrustReport, error) {
	return analyzeTrust(waves, at, region, exp, opt, nil)
}

// analyzeTrust is AnalyzeTrust, reusing from memo (when not nil) what
// depends on the waves alone: each region's trust index and drivers.
func analyzeTrust(waves []*Wave, at int, region string, exp map[string]Experience, opt insights.DriverOptions, memo *trustMemo) (*TrustReport, error) {
	regionIndexes := memo.regionIndexes
	if at < 0 || at >= len(waves) {
		return nil, warden.Errorf(warden.ENOTFOUND, "no such wave")
	}
	w := waves[at]
	rep := &TrustReport{Wave: w.Name, TrustItem: w.Codebook.Trust, Regions: []RegionTrust{}, Trend: []TrendPoint{}}
	for _, x := range waves {
		rep.Waves = append(rep.Waves, x.Name)
	}
	var prev map[string]insights.TrustIndex
	if at > 0 {
		rep.Previous = waves[at-1].Name
		prev = regionIndexes(waves[at-1], region)
	}
	regions := regionsOf(w)
	if region != "" {
		if !slices.Contains(regions, region) {
			return nil, warden.FieldErrorf("region", "wave %s has no respondents in region %q (it has %v)", w.Name, region, regions)
		}
		regions = []string{region}
	}
	// The drivers (with their bootstrap, the costly part) of each region
	// at once, on up to GOMAXPROCS goroutines: each is seeded by opt alone,
	// so the result does not depend on the order.
	drv := make([]driversResult, len(regions))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, reg := range regions {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			drv[i].d, drv[i].err = memo.drivers(w, reg, respondents(w, reg), opt)
		})
	}
	wg.Wait()
	for i, reg := range regions {
		rs := respondents(w, reg)
		ti, err := trustOf(w.Codebook, rs)
		if err != nil {
			continue
		}
		rt := RegionTrust{Region: reg, TrustIndex: ti, ByExperience: map[string]map[string]insights.TrustIndex{}}
		if p, ok := prev[reg]; ok {
			rt.Change = &TrustChange{From: rep.Previous, TopBox: insights.Compare(ti.TopBox, p.TopBox), Mean: insights.Compare(ti.Mean, p.Mean)}
		}
		if d, err := drv[i].d, drv[i].err; err != nil {
			rt.DriversError = errMessage(err)
		} else {
			rt.Drivers = d
		}
		groups := map[string]map[string][]Respondent{}
		add := func(group, level string, r Respondent) {
			if groups[group] == nil {
				groups[group] = map[string][]Respondent{}
			}
			groups[group][level] = append(groups[group][level], r)
		}
		for _, r := range rs {
			for _, c := range w.Codebook.Columns {
				if v, ok := r.Attrs[c.Name]; ok {
					add(c.Name, v, r)
				}
			}
			if r.PlatformHash == "" {
				continue
			}
			rt.Linked++
			e := exp[r.PlatformHash]
			add(GroupExposed, yesNo(e.Exposed), r)
			add(GroupReported, yesNo(e.Reports > 0), r)
			switch {
			case e.Actioned > 0:
				add(GroupReportResult, "actioned", r)
			case e.Decided > 0:
				add(GroupReportResult, "not_actioned", r)
			case e.Reports > 0:
				add(GroupReportResult, "pending", r)
			}
		}
		for g, levels := range groups {
			for l, grs := range levels {
				if gi, err := trustOf(w.Codebook, grs); err == nil {
					if rt.ByExperience[g] == nil {
						rt.ByExperience[g] = map[string]insights.TrustIndex{}
					}
					rt.ByExperience[g][l] = gi
				}
			}
		}
		rep.Regions = append(rep.Regions, rt)
	}
	for _, x := range waves {
		idx := regionIndexes(x, region)
		for _, reg := range regionsOf(x) {
			if ti, ok := idx[reg]; ok {
				rep.Trend = append(rep.Trend, TrendPoint{Wave: x.Name, Region: reg, N: ti.N, TopBox: ti.TopBox, Mean: ti.Mean})
			}
		}
	}
	return rep, nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func errMessage(err error) string {
	if e, ok := err.(*warden.Error); ok {
		return e.Message
	}
	return err.Error()
}

// regionsOf lists a wave's regions, sorted.
func regionsOf(w *Wave) []string {
	var out []string
	for _, r := range w.Respondents {
		if !slices.Contains(out, r.Region) {
			out = append(out, r.Region)
		}
	}
	slices.Sort(out)
	return out
}

func respondents(w *Wave, region string) []Respondent {
	var out []Respondent
	for _, r := range w.Respondents {
		if r.Region == region {
			out = append(out, r)
		}
	}
	return out
}

// regionIndexes is the trust index of each region of w (only region,
// when set) that has one.
func regionIndexes(w *Wave, region string) map[string]insights.TrustIndex {
	out := map[string]insights.TrustIndex{}
	for _, reg := range regionsOf(w) {
		if region != "" && reg != region {
			continue
		}
		if ti, err := trustOf(w.Codebook, respondents(w, reg)); err == nil {
			out[reg] = ti
		}
	}
	return out
}

// trustOf is the trust index of rs on the codebook's trust item: the top
// box is the scale's top TopBox points.
func trustOf(cb *Codebook, rs []Respondent) (insights.TrustIndex, error) {
	_, s, _ := cb.Item(cb.Trust)
	var x, wt []float64
	for _, r := range rs {
		if v, ok := r.Answers[cb.Trust]; ok {
			x = append(x, v)
			wt = append(wt, r.Weight)
		}
	}
	return insights.Trust(x, wt, float64(s.Max-s.TopBox+1))
}

// drivers is the key-driver analysis of the trust item on the other
// items, over the respondents who answered them all, weighted.
func drivers(cb *Codebook, rs []Respondent, opt insights.DriverOptions) (*insights.Drivers, error) {
	var names []string
	for _, it := range cb.Items {
		if it.Name != cb.Trust {
			names = append(names, it.Name)
		}
	}
	if len(names) == 0 {
		return nil, warden.FieldErrorf("items", "the codebook has no items besides the trust item")
	}
	in := insights.DriverInput{Names: names, Predictors: make([][]float64, len(names))}
rows:
	for _, r := range rs {
		y, ok := r.Answers[cb.Trust]
		if !ok {
			continue
		}
		for _, n := range names {
			if _, ok := r.Answers[n]; !ok {
				continue rows
			}
		}
		in.Outcome = append(in.Outcome, y)
		in.Weights = append(in.Weights, r.Weight)
		for j, n := range names {
			in.Predictors[j] = append(in.Predictors[j], r.Answers[n])
		}
	}
	return insights.KeyDrivers(in, opt)
}
