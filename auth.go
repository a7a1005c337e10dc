package warden

import "slices"

// Roles. An API key has exactly one; a console user has one too.
const (
	RoleApp            = "app"             // the platform's backend: events, reports, inboxes
	RoleModerator      = "moderator"       // cases, decisions, appeals
	RoleTrustedFlagger = "trusted_flagger" // reports with priority (DSA Art. 22)
	RoleAdmin          = "admin"           // everything, including keys and transparency exports
	RolePartner        = "partner"         // a partner platform: reads this server's signed indicator feed, nothing else
)

// Roles lists every role.
var Roles = []string{RoleApp, RoleModerator, RoleTrustedFlagger, RoleAdmin, RolePartner}

// UserRoles lists the roles a console user may have: every role but
// partner, which is for API keys only (a partner platform has no business
// in the console).
var UserRoles = []string{RoleApp, RoleModerator, RoleTrustedFlagger, RoleAdmin}

// ValidRole reports whether r is a known role.
func ValidRole(r string) bool { return slices.Contains(Roles, r) }

// ValidUserRole reports whether r is a role a console user may have.
func ValidUserRole(r string) bool { return slices.Contains(UserRoles, r) }

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

// APIKey is a stored API key; the secret itself is never stored, only its
// hash.
type APIKey struct {
	ID        string `db:"id" json:"id"`
	Name      string `db:"name" json:"name"`
	Role      string `db:"role" json:"role"`
	CreatedUS int64  `db:"created_us" json:"-"`
	RevokedUS *int64 `db:"revoked_us" json:"-"`
}

// User is a console user (a moderator or an admin of Warden itself, not a
// platform user).
type User struct {
	ID           string `db:"id"`
	Username     string `db:"username"`
	PasswordHash string `db:"password_hash"`
	Role         string `db:"role"`
	TOTPSecret   string `db:"totp_secret"`
	CreatedUS    int64  `db:"created_us"`
	DisabledUS   *int64 `db:"disabled_us"`
}

// Session is a signed-in console user.
type Session struct {
	User      User
	CSRF      string
	ExpiresUS int64
}

// Label is an enforcement label on an entity (an account, a content id, a
// client id), which rules read: set by a decision until ExpiresAt (0: no
// end).
type Label struct {
	Entity     string `db:"entity"`
	Label      string `db:"label"`
	DecisionID string `db:"decision_id"`
	CreatedAt  Micros `db:"created_us"`
	ExpiresAt  Micros `db:"expires_us"`
}
