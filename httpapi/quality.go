package httpapi

import (
	"net/http"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/quality"
)

// RegisterQuality adds GET /v1/rules/quality.
func RegisterQuality(s *Server, src *quality.Service) {
	iv := `{"$ref":"#/components/schemas/Proportion"}`
	s.Schema("Proportion", `{"type":"object","description":"k of n with its Wilson 95 % interval; known is false when n is 0",
"properties":{"k":{"type":"integer"},"n":{"type":"integer"},"value":{"type":"number"},"low":{"type":"number"},"high":{"type":"number"},"known":{"type":"boolean"}}}`)
	s.Schema("DriftAlert", `{"type":"object","properties":{"rule":{"type":"string"},"kind":{"enum":["hit_rate","precision"]},"day":{"type":"string"},
"value":{"type":"number"},"baseline":{"type":"number"},"z":{"type":"number"},"message":{"type":"string"}}}`)
	alert := `{"$ref":"#/components/schemas/DriftAlert"}`
	s.Route(RouteSpec{Pattern: "GET /v1/rules/quality", Roles: []string{warden.RoleAdmin, warden.RoleModerator},
		Summary: "Each rule version's precision and false-positive rate from moderators' decisions and appeal reversals, with Wilson 95 % intervals and n, " +
			"split by the hits' mode (enforce: acted on; holdout: scored, not acted on; shadow), with the share of each group's accounts a moderator " +
			"restricted later; the rule's hits per 1,000 events per event-time day; and drift alerts (method in the answer). ?rule= one rule; " +
			"?since= RFC 3339 or YYYY-MM-DD, default 30 days ago, at most 366 days.",
		Response: []byte(`{"type":"object","required":["since","until","method","rules","alerts"],"properties":{"since":{"type":"string"},"until":{"type":"string"},
"method":{"type":"string"},"alerts":{"type":"array","items":` + alert + `},
"rules":{"type":"array","items":{"type":"object","properties":{"rule":{"type":"string"},"alerts":{"type":"array","items":` + alert + `},
"versions":{"type":"array","items":{"type":"object","properties":{"version":{"type":"integer"},"hits":{"type":"integer"},"accounts":{"type":"integer"},
"true_positives":{"type":"integer"},"false_positives":{"type":"integer"},"precision":` + iv + `,"false_positive_rate":` + iv + `,"negatives":{"type":"integer"},
"groups":{"type":"array","items":{"type":"object","properties":{"mode":{"type":"string"},"hits":{"type":"integer"},"accounts":{"type":"integer"},
"restricted":` + iv + `,"true_positives":{"type":"integer"},"false_positives":{"type":"integer"},"precision":` + iv + `}}}}}},
"days":{"type":"array","items":{"type":"object","properties":{"day":{"type":"string"},"events":{"type":"integer"},"hits":{"type":"integer"},
"per_1000":{"type":"number"},"baseline":{"type":["number","null"]},"z":{"type":"number"},"alert":{"type":"boolean"}}}}}}}}}`)},
		func(w http.ResponseWriter, r *http.Request, _ *warden.Principal) error {
			rep, err := src.Query(r.Context(), r.URL.Query())
			if err != nil {
				return err
			}
			return WriteJSON(w, http.StatusOK, rep)
		})
}
