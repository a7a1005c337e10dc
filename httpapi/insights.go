package httpapi

import (
	"context"
	"net/http"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/insights"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/survey"
)

// NoteSource gives a wave's interview notes, shown beside each region.
type NoteSource interface {
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
	trust *survey.Reporter
	notes NoteSource
}

const trustIndexSchema = `{"type":"object","properties":{"n":{"type":"integer"},"deff":{"type":"number"},"ess":{"type":"number"},
"top2":{"$ref":"#/components/schemas/Estimate"},"mean":{"$ref":"#/components/schemas/Estimate"}}}`

// RegisterInsights adds the trust measurement call of CONTRACT §9, whose
// figures rp computes, with each region's interview notes from notes.
func RegisterInsights(s *Server, rp *survey.Reporter, notes NoteSource) {
	h := &insightsAPI{trust: rp, notes: notes}
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
"top2":{"$ref":"#/components/schemas/Estimate"},"mean":{"$ref":"#/components/schemas/Estimate"}}}}}}`)}, h.report)
}

func (h *insightsAPI) report(w http.ResponseWriter, r *http.Request, _ *warden.Principal) error {
	q := r.URL.Query()
	rep, err := h.trust.Report(r.Context(), q.Get("wave"), q.Get("region"), insights.DriverOptions{Seed: 1})
	if err != nil {
		return err
	}
	notes, err := h.notes.Notes(r.Context(), rep.Wave)
	if err != nil {
		return err
	}
	survey.AttachNotes(rep, notes)
	return WriteJSON(w, http.StatusOK, rep)
}
