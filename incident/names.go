package incident

import (
	"context"
	"strings"

	"github.com/wardenhq/warden"
)

// Kinds of actor in a case's audit log.
const (
	ActorConsoleUser  = "console_user"  // a person signed in to the console
	ActorAPIKey       = "api_key"       // a service calling the API with a key
	ActorPlatformUser = "platform_user" // an account of the platform (an appellant)
	ActorEngine       = "engine"        // the rule engine
	ActorSystem       = "system"        // Warden itself (deadlines, campaigns)
)

// AuditEntry is one step of a case's audit log with who took it, by name.
type AuditEntry struct {
	warden.CaseEvent
	ActorKind string `json:"actor_kind"`
	// ActorName is the name an admin gave the key or the console user's
	// username; for platform users their platform id, for the engine the
	// rule.
	ActorName string `json:"actor_name"`
}

// platformActor is how the audit log stores a platform user's act.
func platformActor(user string) string { return "platform:" + user }

// actorRef splits a stored actor ("key:ID", "user:ID", "platform:ID",
// "engine:rule", "system") into its kind prefix and id.
func actorRef(actor string) (kind, id string) {
	kind, id, ok := strings.Cut(actor, ":")
	if !ok {
		return actor, ""
	}
	return kind, id
}

// names resolves principal ids (keys and console users) to their names.
func (s *Service) names(ctx context.Context, ids []string) (map[string]string, map[string]string, error) {
	got, err := s.db.PrincipalNames(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	keys, users := map[string]string{}, map[string]string{}
	for id, n := range got {
		if n.Kind == "key" {
			keys[id] = n.Name
		} else {
			users[id] = n.Name
		}
	}
	return keys, users, nil
}

// auditEntries names the actors of a case's events. Entries written before
// platform users had their own prefix stored appellants as "user:<id>":
// a "user:" id that is no console user is a platform user.
func (s *Service) auditEntries(ctx context.Context, evs []warden.CaseEvent) ([]AuditEntry, error) {
	var ids []string
	seen := map[string]bool{}
	for _, e := range evs {
		if k, id := actorRef(e.Actor); (k == "key" || k == "user") && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	keys, users, err := s.names(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]AuditEntry, len(evs))
	for i, e := range evs {
		a := AuditEntry{CaseEvent: e}
		k, id := actorRef(e.Actor)
		switch k {
		case "key":
			a.ActorKind, a.ActorName = ActorAPIKey, keys[id]
			if a.ActorName == "" {
				a.ActorName = "revoked key " + id
			}
		case "user":
			if n, ok := users[id]; ok {
				a.ActorKind, a.ActorName = ActorConsoleUser, n
			} else {
				a.ActorKind, a.ActorName = ActorPlatformUser, id
			}
		case "platform":
			a.ActorKind, a.ActorName = ActorPlatformUser, id
		case "engine":
			a.ActorKind, a.ActorName = ActorEngine, id
		default:
			a.ActorKind, a.ActorName = ActorSystem, e.Actor
		}
		out[i] = a
	}
	return out, nil
}

// assigneeNames names who holds each case in cs (keys and console users by
// their names), in place.
func (s *Service) assigneeNames(ctx context.Context, cs []CaseSummary) error {
	var ids []string
	for _, c := range cs {
		if c.Assignee != "" {
			ids = append(ids, c.Assignee)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	keys, users, err := s.names(ctx, ids)
	if err != nil {
		return err
	}
	for i := range cs {
		if n := users[cs[i].Assignee]; n != "" {
			cs[i].AssigneeName = n
		} else if n := keys[cs[i].Assignee]; n != "" {
			cs[i].AssigneeName = n
		}
	}
	return nil
}
