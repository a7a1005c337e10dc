package web

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/wardenhq/warden"
)

// BreakerView is a rule's tripped circuit breaker, as the rules page's
// alert lists it.
type BreakerView struct {
	Rule      string
	TrippedAt time.Time // event time
	Reason    string    // the shares, in words
}

// RuleBreakers is a rule engine whose rules have circuit breakers (safety
// valves): the tripped ones are the admin's alert, and an admin re-arms
// them from the console.
type RuleBreakers interface {
	TrippedBreakers() []BreakerView
	RearmBreaker(ctx context.Context, rule, by string) error
}

func (c *Console) mountBreakers() {
	c.Page("POST /rules/{name}/breaker/rearm", []string{warden.RoleAdmin}, c.rearmBreaker)
}

// breakers returns the tripped breakers, if the engine has any.
func (c *Console) breakers() []BreakerView {
	if b, ok := c.opt.Rules.(RuleBreakers); ok {
		return b.TrippedBreakers()
	}
	return nil
}

func (c *Console) rearmBreaker(w http.ResponseWriter, r *http.Request, u *warden.User) error {
	b, ok := c.opt.Rules.(RuleBreakers)
	if !ok {
		return warden.Errorf(warden.ENOTFOUND, "this server's rule engine has no breakers")
	}
	name := r.PathValue("name")
	if err := b.RearmBreaker(r.Context(), name, "user:"+u.ID); err != nil {
		return err
	}
	c.opt.Logger.Info("rule breaker re-armed", "rule", name, "by", u.Username)
	http.Redirect(w, r, "/rules?rearmed="+url.QueryEscape(name), http.StatusSeeOther)
	return nil
}
