package warden

import "slices"

// Roles. An API key has exactly one; a console user has one too.
const (
	RoleApp            = "app"             // the platform's backend: events, reports, inboxes
	RoleModerator      = "moderator"       // cases, decisions, appeals
	RoleTrustedFlagger = "trusted_flagger" // reports with priority (DSA Art. 22)
	RoleAdmin          = "admin"           // everything, including keys and transparency exports
)

// Roles lists every role.
var Roles = []string{RoleApp, RoleModerator, RoleTrustedFlagger, RoleAdmin}

// ValidRole reports whether r is a known role.
func ValidRole(r string) bool { return slices.Contains(Roles, r) }

// Principal is who is calling: an API key or a signed-in console user.
type Principal struct {
	ID   string // key id or user id
	Name string // key name or username
	Role string
	Kind string // "key" or "user"
}

// Can reports whether p may act in one of roles. Admins may do anything.
func (p *Principal) Can(roles ...string) bool {
	if p == nil {
		return false
	}
	return p.Role == RoleAdmin || slices.Contains(roles, p.Role)
}
