package survey

import (
	"context"
	"runtime"
	"sync"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/insights"
)

// Store is what a Reporter reads: the stored waves and the platform's
// experience of each account, by account id.
type Store interface {
	// WaveNames lists the stored waves, oldest import first.
	WaveNames(ctx context.Context) ([]string, error)
	Wave(ctx context.Context, name string) (*Wave, error)
	PlatformExperience(ctx context.Context) (map[string]Experience, error)
}

// Reporter computes trust reports over a Store: the figures of
// GET /v1/insights/trust and of the console's insights pages. Loaded
// waves are kept, since a stored wave never changes, and so are the
// figures that depend on them alone (each region's trust index and
// drivers); the platform's experience, and so the split by it, is read
// afresh for each report.
type Reporter struct {
	st   Store
	salt []byte // nil: respondents are not joined with the platform
	mu   sync.Mutex
	// waves caches loaded waves by name.
	waves map[string]*Wave
	memo  trustMemo
}

// trustMemo keeps the figures of a report that depend on the stored waves
// alone (a region's trust index and drivers), which a stored wave never
// changes; a nil *trustMemo computes them each time.
type trustMemo struct {
	mu      sync.Mutex
	indexes map[indexKey]map[string]insights.TrustIndex
	drv     map[driversKey]driversResult
}

type indexKey struct{ wave, region string }

type driversKey struct {
	wave, region string
	opt          insights.DriverOptions
}

type driversResult struct {
	d   *insights.Drivers
	err error
}

// regionIndexes is the package's regionIndexes of w, kept.
func (m *trustMemo) regionIndexes(w *Wave, region string) map[string]insights.TrustIndex {
	if m == nil {
		return regionIndexes(w, region)
	}
	k := indexKey{w.Name, region}
	m.mu.Lock()
	idx, ok := m.indexes[k]
	m.mu.Unlock()
	if !ok {
		idx = regionIndexes(w, region)
		m.mu.Lock()
		if m.indexes == nil {
			m.indexes = map[indexKey]map[string]insights.TrustIndex{}
		}
		m.indexes[k] = idx
		m.mu.Unlock()
	}
	return idx
}

// drivers is the package's drivers of region's respondents rs in w, kept.
// Callers do not change the result.
func (m *trustMemo) drivers(w *Wave, region string, rs []Respondent, opt insights.DriverOptions) (*insights.Drivers, error) {
	if m == nil {
		return drivers(w.Codebook, rs, opt)
	}
	k := driversKey{w.Name, region, opt}
	m.mu.Lock()
	r, ok := m.drv[k]
	m.mu.Unlock()
	if !ok {
		r.d, r.err = drivers(w.Codebook, rs, opt)
		m.mu.Lock()
		if m.drv == nil {
			m.drv = map[driversKey]driversResult{}
		}
		m.drv[k] = r
		m.mu.Unlock()
	}
	return r.d, r.err
}

// NewReporter reads st; salt is the survey salt that platform ids were
// hashed with (nil: respondents are not joined with the platform).
func NewReporter(st Store, salt []byte) *Reporter {
	return &Reporter{st: st, salt: salt, waves: map[string]*Wave{}}
}

// Report is the trust report of the wave named wave ("" for the latest
// imported) for region (an ISO 3166-1 alpha-2 code, UK read as GB; "" for
// every region). A malformed wave name or region is an EINVALID naming
// the field, a wave not imported or a region the wave does not have an
// ENOTFOUND or EINVALID saying so.
func (rp *Reporter) Report(ctx context.Context, wave, region string, opt insights.DriverOptions) (*TrustReport, error) {
	if region != "" {
		var err error
		if region, err = Region(region); err != nil {
			return nil, warden.FieldErrorf("region", "%s", err)
		}
	}
	if wave != "" {
		if err := CheckWaveName(wave); err != nil {
			return nil, err
		}
	}
	names, err := rp.st.WaveNames(ctx)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, warden.Errorf(warden.ENOTFOUND, "no survey wave is imported yet: run warden survey import")
	}
	at := len(names) - 1
	if wave != "" {
		at = -1
		for i, n := range names {
			if n == wave {
				at = i
			}
		}
		if at < 0 {
			return nil, warden.Errorf(warden.ENOTFOUND, "no wave %q is imported (there are %v)", clip(wave), names)
		}
	}
	// Waves not loaded yet are loaded on up to GOMAXPROCS goroutines.
	waves := make([]*Wave, len(names))
	errs := make([]error, len(names))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			waves[i], errs[i] = rp.Wave(ctx, n)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	exp := map[string]Experience{}
	if rp.salt != nil {
		byAccount, err := rp.st.PlatformExperience(ctx)
		if err != nil {
			return nil, err
		}
		for id, e := range byAccount {
			exp[HashID(rp.salt, id)] = e
		}
	}
	return analyzeTrust(waves, at, region, exp, opt, &rp.memo)
}

// Wave is the stored wave named name, loaded once.
func (rp *Reporter) Wave(ctx context.Context, name string) (*Wave, error) {
	rp.mu.Lock()
	w, ok := rp.waves[name]
	rp.mu.Unlock()
	if ok {
		return w, nil
	}
	w, err := rp.st.Wave(ctx, name)
	if err != nil {
		return nil, err
	}
	rp.mu.Lock()
	rp.waves[name] = w
	rp.mu.Unlock()
	return w, nil
}

// Regions lists the wave's regions, sorted.
func (w *Wave) Regions() []string { return regionsOf(w) }
