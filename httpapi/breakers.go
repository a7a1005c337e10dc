package httpapi

import (
	"context"
	"net/http"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/enforce"
)

// BreakerService is what the breaker calls need: the rules' tripped
// circuit breakers (package enforce's safety valves) and their re-arm.
type BreakerService interface {
	Breakers() []enforce.Breaker
	// Rearm re-arms rule's tripped breaker on by's word: stored, then
	// applied from the next event on. A breaker not tripped is ECONFLICT.
	Rearm(ctx context.Context, rule, by string) (enforce.Rearm, error)
}

const breakerSchema = `{"type":"object","required":["rule","tripped_at","share","usual","reason"],"properties":{
"rule":{"type":"string"},"tripped_at":{"type":"string","format":"date-time","description":"event time of the trip"},
"share":{"type":"number","description":"the rule's share of the window's events at the trip"},
"usual":{"type":"number","description":"its usual share then, from the baseline before the window"},
"reason":{"type":"string"}}}`

// RegisterBreakers adds the admin calls of the rules' circuit breakers:
// the tripped ones (the admin alert, also on /metrics as
// warden_rule_breaker_tripped and on the console's rules page), and the
// re-arm that puts a rule's actions back in force.
func RegisterBreakers(s *Server, svc BreakerService) {
	s.Schema("Breaker", breakerSchema)
	s.Route(RouteSpec{Pattern: "GET /v1/rules/breakers", Roles: []string{warden.RoleAdmin},
		Summary:  "The rules whose circuit breaker is tripped: each fired on a share of recent events (10 minutes by default) at least its factor (10 by default) times its usual share, and its enforce actions are held to review until an admin re-arms it.",
		Response: []byte(`{"type":"object","required":["breakers"],"properties":{"breakers":{"type":"array","items":{"$ref":"#/components/schemas/Breaker"}}}}`)},
		func(w http.ResponseWriter, r *http.Request, _ *warden.Principal) error {
			bs := svc.Breakers()
			if bs == nil {
				bs = []enforce.Breaker{}
			}
			return WriteJSON(w, http.StatusOK, map[string]any{"breakers": bs})
		})
	s.Route(RouteSpec{Pattern: "POST /v1/rules/{name}/breaker/rearm", Roles: []string{warden.RoleAdmin},
		Summary:  "Re-arm a rule's tripped breaker: its actions are in force again from the next event on (event time just past the newest seen), and the share it tripped at is its usual share for a baseline. Kept, so a replay of the log applies it at the same point. A breaker not tripped is 409.",
		Response: []byte(`{"type":"object","required":["rule","rearmed_from"],"properties":{"rule":{"type":"string"},"rearmed_from":{"type":"string","format":"date-time","description":"the event time the re-arm applies from"}}}`)},
		func(w http.ResponseWriter, r *http.Request, p *warden.Principal) error {
			rule := r.PathValue("name")
			re, err := svc.Rearm(r.Context(), rule, p.Kind+":"+p.ID)
			if err != nil {
				return err
			}
			return WriteJSON(w, http.StatusOK, map[string]any{"rule": re.Rule, "rearmed_from": re.At})
		})
}
