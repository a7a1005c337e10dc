package web

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/sqlstore"
)

// RuleView is one rule of the running rule set, as the rules page lists it.
type RuleView struct {
	Name    string
	Version int
	Mode    string // disabled, shadow, sampled:P%, enforce
	Action  warden.Action
	Tags    []string
	Hits    uint64 // since the engine started
	Source  string // where the rule is defined, e.g. "rules/signup.yaml:12"; may be empty

	// Filled in by the page: hits per minute, and the outcomes of the
	// cases the rule opened.
	Spark   sparkline
	Outcome *ruleOutcome
}

// ruleOutcome is a rule's precision as decisions and appeals measure it.
type ruleOutcome struct {
	Decided, Upheld int64
	Precision       float64 // upheld restrictions over decided cases
}

// RuleSource is what the rules page needs of the rule engine: the running
// rules, and the error of the last rule set that failed to load (nil when
// the last load succeeded), which the page shows while the old set keeps
// running.
type RuleSource interface {
	Rules() []RuleView
	LoadError() error
}

// RuleFuncs adapts two functions to a RuleSource, so that wire.go can
// convert the engine's own rule status without a named type.
type RuleFuncs struct {
	List      func() []RuleView
	LastError func() error
}

func (f RuleFuncs) Rules() []RuleView { return f.List() }
func (f RuleFuncs) LoadError() error  { return f.LastError() }

// RulePromoter is a rule engine whose rules can be promoted to enforce
// from the console, after a replay of the last day's events shows what
// the promotion would change.
type RulePromoter interface {
	PreviewPromotion(ctx context.Context, rule string) (Promotion, error)
	Promote(ctx context.Context, rule, by string) error
}

// Promotion is what promoting a rule to enforce would have changed over
// the last Window of logged events.
type Promotion struct {
	Rule    string
	Window  time.Duration
	Events  int // replayed
	Changed int // whose verdict would differ
	Changes []PromotionChange
}

// PromotionChange is one verdict that would differ.
type PromotionChange struct {
	EventID, Before, After string
}

func (c *Console) mountRules() {
	c.Page("GET /rules", nil, c.rulesPage)
	c.Page("GET /live/rules", nil, c.liveRules)
	admin := []string{warden.RoleAdmin}
	c.Page("GET /rules/{name}/promote", admin, c.promotePreview)
	c.Page("POST /rules/{name}/promote", admin, c.promote)
	c.Nav("Rules", "/rules")
	c.mountBreakers()
}

func (c *Console) promoter() (RulePromoter, error) {
	p, ok := c.opt.Rules.(RulePromoter)
	if !ok {
		return nil, warden.Errorf(warden.ENOTFOUND, "this server's rule engine cannot promote rules")
	}
	return p, nil
}

// promotePreview replays the last day through the rule set with and
// without the rule enforced, and asks for confirmation.
func (c *Console) promotePreview(w http.ResponseWriter, r *http.Request, _ *warden.User) error {
	p, err := c.promoter()
	if err != nil {
		return err
	}
	pr, err := p.PreviewPromotion(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return c.Render(w, r, "rules_promote.html", pr)
}

func (c *Console) promote(w http.ResponseWriter, r *http.Request, u *warden.User) error {
	p, err := c.promoter()
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	if err := p.Promote(r.Context(), name, "user:"+u.ID); err != nil {
		return err
	}
	c.opt.Logger.Info("rule promoted to enforce", "rule", name, "by", u.Username)
	http.Redirect(w, r, "/rules?promoted="+url.QueryEscape(name), http.StatusSeeOther)
	return nil
}

type rulesData struct {
	Known     bool // the engine reports its rules
	Admin     bool // may promote rules
	Promoted  string
	Rules     []RuleView
	LoadError string
	Breakers  []BreakerView // tripped: the admin's alert
	Rearmed   string
	Quality   bool // the rule quality page is served
}

func (c *Console) rulesData() rulesData {
	src := c.opt.Rules
	if src == nil {
		return rulesData{}
	}
	d := rulesData{Known: true, Rules: src.Rules(), Quality: c.quality}
	outcomes := map[string]sqlstore.RuleOutcome{}
	if c.opt.DB != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		os, err := c.opt.DB.RuleOutcomes(ctx)
		cancel()
		if err == nil {
			for _, o := range os {
				outcomes[o.Rule] = o
			}
		}
	}
	for i := range d.Rules {
		r := &d.Rules[i]
		if c.opt.Feed != nil {
			r.Spark = newSparkline(c.opt.Feed.RuleMinutes(r.Name, chartMinutes))
		}
		if o, ok := outcomes[r.Name]; ok && o.Decided > 0 {
			up := o.Restricted - o.Reversed
			r.Outcome = &ruleOutcome{Decided: o.Decided, Upheld: up, Precision: float64(up) / float64(o.Decided)}
		}
	}
	if err := src.LoadError(); err != nil {
		d.LoadError = err.Error()
	}
	// By name, not by hits: the table refreshes every few seconds, and
	// rows that change places under the reader's eye cannot be read.
	sort.SliceStable(d.Rules, func(i, j int) bool { return d.Rules[i].Name < d.Rules[j].Name })
	return d
}

func (c *Console) rulesPage(w http.ResponseWriter, r *http.Request, u *warden.User) error {
	return c.Render(w, r, "rules.html", c.rulesFor(r, u))
}

func (c *Console) liveRules(w http.ResponseWriter, r *http.Request, u *warden.User) error {
	return c.Fragment(w, r, "rules.html", "rules-live", c.rulesFor(r, u))
}

func (c *Console) rulesFor(r *http.Request, u *warden.User) rulesData {
	d := c.rulesData()
	_, canPromote := c.opt.Rules.(RulePromoter)
	d.Admin = canPromote && u.Role == warden.RoleAdmin
	d.Promoted = r.URL.Query().Get("promoted")
	d.Breakers, d.Rearmed = c.breakers(), r.URL.Query().Get("rearmed")
	return d
}
