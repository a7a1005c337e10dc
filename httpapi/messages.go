package httpapi

import (
	"net/http"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/messaging"
)

// RegisterMessages adds the regional messaging calls of CONTRACT §9: the
// app's assignment of a user to a message variant, the admins' experiment
// definitions and the results per variant in a survey wave.
func RegisterMessages(s *Server, svc *messaging.Service, waves WaveSource) {
	h := &messagesAPI{svc: svc, waves: waves}
	admin := []string{warden.RoleAdmin}
	variant := `{"type":"object","required":["id","text"],"properties":{"id":{"type":"string"},"text":{"type":"string","maxLength":500}}}`
	experiment := `{"type":"object","additionalProperties":false,"required":["id","messages"],"properties":{"id":{"type":"string"},"title":{"type":"string"},
"seed":{"type":"integer","minimum":0},"stopped":{"type":"boolean"},
"messages":{"type":"array","items":{"type":"object","required":["regions","variants"],"properties":{"regions":{"type":"array","items":{"type":"string"}},"theme":{"type":"string"},
"variants":{"type":"array","items":` + variant + `}}}}}}`
	s.Schema("MessageExperiment", experiment)
	ref := `{"$ref":"#/components/schemas/MessageExperiment"}`
	change := `{"type":"object","properties":{"diff":{"type":"number"},"se":{"type":"number"},"z":{"type":"number"},"p":{"type":"number"},"significant":{"type":"boolean"}}}`
	s.Route(RouteSpec{Pattern: "GET /v1/messages/assignment", Roles: []string{warden.RoleApp},
		Summary: "What to show a platform user (?user= the account id, ?region= ISO 3166-1 alpha-2) of the regional trust message running there: the variant's id and text, or show: false for the control arm and where no experiment runs. The arm follows from a hash of the user's pseudonymous survey id, seeded per experiment: always the same for a user, equal shares across arms.",
		Response: []byte(`{"type":"object","required":["region","control","show"],"properties":{"region":{"type":"string"},"experiment":{"type":"string"},"variant":{"type":"string"},
"control":{"type":"boolean"},"show":{"type":"boolean"},"text":{"type":"string"},"theme":{"type":"string"}}}`)}, h.assignment)
	s.Route(RouteSpec{Pattern: "GET /v1/messages/experiments", Roles: admin,
		Summary:  "The messaging experiments in effect: the built-in ones, replaced by stored ones of the same id, and the stored others.",
		Response: []byte(`{"type":"object","properties":{"experiments":{"type":"array","items":` + ref + `}}}`)}, h.list)
	s.Route(RouteSpec{Pattern: "PUT /v1/messages/experiments/{id}", Roles: admin,
		Summary: "Create (201) or replace (200) a messaging experiment: per-region messages with variants (a control arm is implicit). A region that another running experiment has is a conflict (409): stop that one first with \"stopped\": true. Texts holding personal data or links are refused.",
		Request: []byte(ref), Response: []byte(ref)}, h.put)
	s.Route(RouteSpec{Pattern: "GET /v1/insights/messages", Roles: admin,
		Summary: "Results per message variant in a survey wave (?wave=, default the latest; ?experiment= for one): the trust index (top-2-box and mean with 95 % intervals widened by the design effect) of the respondents whose platform id was assigned each arm, and each variant minus control with a z test (significant at 5 %).",
		Response: []byte(`{"type":"object","properties":{"wave":{"type":"string"},"experiments":{"type":"array","items":{"type":"object","properties":{"experiment":{"type":"string"},"wave":{"type":"string"},"stopped":{"type":"boolean"},
"messages":{"type":"array","items":{"type":"object","properties":{"regions":{"type":"array","items":{"type":"string"}},"theme":{"type":"string"},
"arms":{"type":"array","items":{"type":"object","properties":{"variant":{"type":"string"},"control":{"type":"boolean"},"n":{"type":"integer"},
"index":{"$ref":"#/components/schemas/TrustIndex"},"error":{"type":"string"},
"vs_control":{"type":"object","properties":{"top2":` + change + `,"mean":` + change + `}}}}}}}}}}}}}`)}, h.results)
}

type messagesAPI struct {
	svc   *messaging.Service
	waves WaveSource
}

func (h *messagesAPI) assignment(w http.ResponseWriter, r *http.Request, _ *warden.Principal) error {
	q := r.URL.Query()
	a, err := h.svc.Assign(r.Context(), q.Get("user"), q.Get("region"))
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, a)
}

func (h *messagesAPI) list(w http.ResponseWriter, r *http.Request, _ *warden.Principal) error {
	es, err := h.svc.Experiments(r.Context())
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, map[string]any{"experiments": es})
}

func (h *messagesAPI) put(w http.ResponseWriter, r *http.Request, p *warden.Principal) error {
	body, err := ReadBody(r, messaging.MaxBodyBytes)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	e, err := messaging.DecodeJSON(body)
	if err != nil {
		return err
	}
	if e.ID != id {
		return warden.FieldErrorf("id", "the body's id %q is not the path's %q", e.ID, id)
	}
	created, err := h.svc.Put(r.Context(), e, p.Name)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return WriteJSON(w, status, e)
}

func (h *messagesAPI) results(w http.ResponseWriter, r *http.Request, _ *warden.Principal) error {
	q := r.URL.Query()
	infos, err := h.waves.Waves(r.Context())
	if err != nil {
		return err
	}
	at, err := pickWave(infos, q.Get("wave"))
	if err != nil {
		return err
	}
	wave, err := h.waves.Wave(r.Context(), infos[at].Name)
	if err != nil {
		return err
	}
	res, err := h.svc.Results(r.Context(), wave, q.Get("experiment"))
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, map[string]any{"wave": wave.Name, "experiments": res})
}
