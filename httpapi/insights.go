package httpapi

import (
	"context"
	"net/http"
	"sync"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/insights"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/survey"
)

// TrustSource is what the trust call reads: the stored survey waves and
// the platform's experience of each account.
type TrustSource interface {
	WaveSource
	PlatformExperience(ctx context.Context) (map[string]survey.Experience, error)
	// Notes are the wave's interview notes, shown beside each region.
	Notes(ctx context.Context, wave string) ([]survey.Note, error)
}

// WaveSource lists and loads the stored survey waves.
type WaveSource interface {
	Waves(ctx context.Context) ([]sqlstore.WaveInfo, error)
	Wave(ctx context.Context, name string) (*survey.Wave, error)
}

// pickWave returns the index in infos (oldest first) of the wave the query
// parameter wave names, or of the latest when it is empty.
func pickWave(infos []sqlstore.WaveInfo, name string) (int, error) {
	if name != "" {
		if err := survey.CheckWaveName(name); err != nil {
			return 0, err
		}
	}
	if len(infos) == 0 {
		return 0, warden.Errorf(warden.ENOTFOUND, "no survey wave is imported yet: run warden survey import")
	}
	if name == "" {
		return len(infos) - 1, nil
	}
	for i, wi := range infos {
		if wi.Name == name {
			return i, nil
		}
	}
	return 0, warden.Errorf(warden.ENOTFOUND, "no wave %q is imported", name)
}

type insightsAPI struct {
	src  TrustSource
	salt []byte // nil: platform ids are not joined
	mu   sync.Mutex
	// waves caches loaded waves: a stored wave never changes.
	waves map[string]*survey.Wave
}

const trustIndexSchema = `{"type":"object","properties":{"n":{"type":"integer"},"deff":{"type":"number"},"ess":{"type":"number"},
"top2":{"$ref":"#/components/schemas/Estimate"},"mean":{"$ref":"#/components/schemas/Estimate"}}}`

// RegisterInsights adds the trust measurement call of CONTRACT §9. salt is
// the survey salt that platform ids were hashed with (nil: respondents are
// not joined with the platform).
func RegisterInsights(s *Server, src TrustSource, salt []byte) {
	h := &insightsAPI{src: src, salt: salt, waves: map[string]*survey.Wave{}}
	s.Schema("Estimate", `{"type":"object","properties":{"value":{"type":"number"},"se":{"type":"number"},"low":{"type":"number"},"high":{"type":"number"}}}`)
	s.Schema("TrustIndex", trustIndexSchema)
	s.Schema("Note", noteSchema)
	ti := `{"$ref":"#/components/schemas/TrustIndex"}`
	change := `{"type":"object","properties":{"diff":{"type":"number"},"se":{"type":"number"},"z":{"type":"number"},"p":{"type":"number"},"significant":{"type":"boolean"}}}`
	s.Route(RouteSpec{Pattern: "GET /v1/insights/trust", Roles: []string{warden.RoleAdmin},
		Summary: "Trust index of a survey wave (?wave=, default the latest imported) per region (?region= ISO 3166-1 alpha-2 for one): top-2-box share and mean of the trust item with 95 % intervals widened by the weights' design effect, the change from the previous wave with a significance flag (z test, 5 %), key drivers of trust (relaimpo's lmg, shares, Johnson's weights; weighted), the same index split by the respondents' platform experience (exposure to accounts later restricted, reports made and their outcome; joined by the salted hash of the platform id) and by the codebook's categorical columns (such as 2FA or use of the safety and privacy center), the interview notes of each region (notes), and the trend over all waves.",
		Response: []byte(`{"type":"object","required":["wave","waves","trust_item","regions","trend"],"properties":{"wave":{"type":"string"},"previous_wave":{"type":"string"},
"waves":{"type":"array","items":{"type":"string"}},"trust_item":{"type":"string"},
"regions":{"type":"array","items":{"type":"object","properties":{"region":{"type":"string"},"n":{"type":"integer"},"deff":{"type":"number"},"ess":{"type":"number"},
"top2":{"$ref":"#/components/schemas/Estimate"},"mean":{"$ref":"#/components/schemas/Estimate"},
"change":{"type":"object","properties":{"from_wave":{"type":"string"},"top2":` + change + `,"mean":` + change + `}},
"drivers":{"type":"object","description":"as warden insights drivers --json"},"drivers_error":{"type":"string"},"linked":{"type":"integer"},
"by_experience":{"type":"object","additionalProperties":{"type":"object","additionalProperties":` + ti + `}},
"notes":{"type":"array","description":"the wave's interview notes of the region; experience names the by_experience split a note speaks to","items":{"$ref":"#/components/schemas/Note"}}}}},
"trend":{"type":"array","items":{"type":"object","properties":{"wave":{"type":"string"},"region":{"type":"string"},"n":{"type":"integer"},
"top2":{"$ref":"#/components/schemas/Estimate"},"mean":{"$ref":"#/components/schemas/Estimate"}}}}}}`)}, h.trust)
}

func (h *insightsAPI) trust(w http.ResponseWriter, r *http.Request, _ *warden.Principal) error {
	q := r.URL.Query()
	region := q.Get("region")
	if region != "" {
		var err error
		if region, err = survey.Region(region); err != nil {
			return warden.FieldErrorf("region", "%s", err)
		}
	}
	infos, err := h.src.Waves(r.Context())
	if err != nil {
		return err
	}
	at, err := pickWave(infos, q.Get("wave"))
	if err != nil {
		return err
	}
	waves := make([]*survey.Wave, len(infos))
	for i, wi := range infos {
		if waves[i], err = h.wave(r.Context(), wi.Name); err != nil {
			return err
		}
	}
	exp := map[string]survey.Experience{}
	if h.salt != nil {
		byAccount, err := h.src.PlatformExperience(r.Context())
		if err != nil {
			return err
		}
		for id, e := range byAccount {
			exp[survey.HashID(h.salt, id)] = e
		}
	}
	rep, err := survey.AnalyzeTrust(waves, at, region, exp, insights.DriverOptions{Seed: 1})
	if err != nil {
		return err
	}
	notes, err := h.src.Notes(r.Context(), rep.Wave)
	if err != nil {
		return err
	}
	survey.AttachNotes(rep, notes)
	return WriteJSON(w, http.StatusOK, rep)
}

func (h *insightsAPI) wave(ctx context.Context, name string) (*survey.Wave, error) {
	h.mu.Lock()
	w, ok := h.waves[name]
	h.mu.Unlock()
	if ok {
		return w, nil
	}
	w, err := h.src.Wave(ctx, name)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	h.waves[name] = w
	h.mu.Unlock()
	return w, nil
}
