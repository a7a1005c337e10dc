package survey

import (
	"context"
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
// GET /v1/insights/trust and of the console's insights pages. Loaded waves
// are kept, since a stored wave never changes; the platform's experience
// is read afresh for each report.
type Reporter struct {
	st   Store
	salt []byte // nil: respondents are not joined with the platform
	mu   sync.Mutex
	// waves caches loaded waves by name.
	waves map[string]*Wave
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
	waves := make([]*Wave, len(names))
	for i, n := range names {
		if waves[i], err = rp.Wave(ctx, n); err != nil {
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
	return AnalyzeTrust(waves, at, region, exp, opt)
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
