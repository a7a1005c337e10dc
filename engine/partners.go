package engine

import (
	"github.com/expr-lang/expr/ast"
)

// Partner trust levels, lowest first, as partner_trust returns them. A
// level is what an admin said of the partner when importing its feed.
const (
	TrustNone   = 0 // not listed
	TrustLow    = 1
	TrustMedium = 2
	TrustHigh   = 3
)

var trustNames = [...]string{"", "low", "medium", "high"}

// TrustName returns "low", "medium" or "high" for a trust level, "" for
// TrustNone.
func TrustName(t int) string {
	if t < 0 || t >= len(trustNames) {
		return ""
	}
	return trustNames[t]
}

// Partners answers partner_listed and partner_trust from the indicators
// imported from partner platforms' feeds: which partner lists value (a
// rule's clear value, such as attrs.email, which the implementation
// normalises and hashes) as an indicator of kind (email, phone, url, device,
// ip_prefix). It returns the partner with the highest trust at or above
// min, and that trust; TrustNone when none does. It is called on the event
// path, so it must be a lookup in memory, and safe for concurrent use.
type Partners interface {
	Lookup(kind, value string, min int) (partner string, trust int)
}

// partnerFuncs are the rule functions that read partner lists. They may be
// called only in a rule's when (not in features or counters), where the
// engine can tell which partner a hit relied on.
var partnerFuncs = map[string]bool{"partner_listed": true, "partner_trust": true}

// partnerSeen is one listed value a rule's condition looked up.
type partnerSeen struct {
	partner string
	trust   int
}

// partnerCtx is the per-evaluation state partner functions read and
// write: the lowest trust they count (raised to high when the engine checks
// whether a block stands without low and medium-trust partners) and the
// listings the current rule looked up.
type partnerCtx struct {
	min      int
	seen     []partnerSeen
	override Partners // answers instead of the rule set's Partners when set
}

// lookup answers one partner call and records a listing.
func (p *partnerCtx) lookup(ps Partners, kind, value string) (string, int) {
	if p != nil && p.override != nil {
		ps = p.override
	}
	if ps == nil || value == "" {
		return "", TrustNone
	}
	if p == nil {
		return ps.Lookup(kind, value, TrustLow)
	}
	min := p.min
	if min < TrustLow {
		min = TrustLow
	}
	name, t := ps.Lookup(kind, value, min)
	if t != TrustNone {
		p.seen = append(p.seen, partnerSeen{partner: name, trust: t})
	}
	return name, t
}

// partnerArg is the identifier the compiler appends to every partner call,
// so that both the closures and the expression machine reach the
// evaluation's partnerCtx.
const partnerArg = "_p"

// patchPartnerCall adds the partnerCtx argument to a partner call with
// its two arguments.
func patchPartnerCall(n *ast.Node) {
	x, ok := (*n).(*ast.CallNode)
	if !ok {
		return
	}
	id, ok := x.Callee.(*ast.IdentifierNode)
	if !ok || !partnerFuncs[id.Value] || len(x.Arguments) != 2 {
		return
	}
	x.Arguments = append(x.Arguments, &ast.IdentifierNode{Value: partnerArg})
}

// partnersOf returns the distinct partners of seen, in order.
func partnersOf(seen []partnerSeen) []string {
	var out []string
	for _, s := range seen {
		dup := false
		for _, o := range out {
			dup = dup || o == s.partner
		}
		if !dup {
			out = append(out, s.partner)
		}
	}
	return out
}

// onlyBelowHigh reports whether seen holds listings and none from a
// high-trust partner.
func onlyBelowHigh(seen []partnerSeen) bool {
	for _, s := range seen {
		if s.trust >= TrustHigh {
			return false
		}
	}
	return len(seen) > 0
}

// FixtureListing is one value a fixture file says a partner lists: rule
// fixtures show partner rules without a partner feed.
type FixtureListing struct {
	Kind    string `yaml:"kind"`
	Value   string `yaml:"value"`
	Partner string `yaml:"partner"`
	Trust   string `yaml:"trust"` // low, medium or high
}

// fixturePartners answers the partner functions from a fixture's
// listings, values compared as written.
type fixturePartners []FixtureListing

func (f fixturePartners) Lookup(kind, value string, min int) (string, int) {
	best, bt := "", TrustNone
	for _, l := range f {
		t := trustLevel(l.Trust)
		if l.Kind == kind && l.Value == value && t >= min && t > bt {
			best, bt = l.Partner, t
		}
	}
	return best, bt
}

// trustLevel is the level TrustName names, TrustNone for another name.
func trustLevel(s string) int {
	for i, n := range trustNames {
		if i > 0 && n == s {
			return i
		}
	}
	return TrustNone
}
