// Package demo plays the people of `warden serve --demo`: simulated
// moderators who take cases from the queue and decide them (a campaign is
// banned in one decision), and users who appeal some decisions, so that a
// newcomer sees every page with data within a minute. It drives the
// incident service through its public calls, as people would.
package demo

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	mrand "math/rand/v2"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/incident"
	"github.com/wardenhq/warden/sqlstore"
)

// Moderators are the demo's console users who work the queue.
var Moderators = []string{"ada", "ben"}

// Options configure Run.
type Options struct {
	DB      *sqlstore.DB
	Service *incident.Service
	Logger  *slog.Logger
	// Every is the pause between one moderator's decisions; 20 s if zero
	// (campaigns grow for a while before someone takes them).
	Every time.Duration
	// Seed makes the choices repeatable; 0 means random.
	Seed uint64
}

// Run works the queue until ctx ends. Each moderator is a real console
// user (created with a random password nobody is told), so the audit log
// names them.
func Run(ctx context.Context, opt Options) error {
	if opt.Every <= 0 {
		opt.Every = 20 * time.Second
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	var mods []*warden.Principal
	for _, name := range Moderators {
		u, err := opt.DB.UserByName(ctx, name)
		if warden.ErrorCode(err) == warden.ENOTFOUND {
			b := make([]byte, 18)
			rand.Read(b)
			u, err = opt.DB.CreateUser(ctx, name, base64.RawURLEncoding.EncodeToString(b), warden.RoleModerator)
		}
		if err != nil {
			return err
		}
		mods = append(mods, &warden.Principal{ID: u.ID, Name: u.Username, Role: u.Role, Kind: "user"})
	}
	seed := opt.Seed
	if seed == 0 {
		seed = mrand.Uint64()
	}
	r := mrand.New(mrand.NewPCG(seed, 7))
	tick := time.NewTicker(opt.Every / time.Duration(len(mods)))
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		mod := mods[i%len(mods)]
		if err := step(ctx, opt.Service, mod, mods[(i+1)%len(mods)], r); err != nil && ctx.Err() == nil {
			opt.Logger.Warn("demo moderator", "moderator", mod.Name, "err", err)
		}
	}
}

// step has mod take the next case and decide it; now and then the
// affected user appeals and other decides the appeal.
func step(ctx context.Context, svc *incident.Service, mod, other *warden.Principal, r *mrand.Rand) error {
	c, err := svc.Next(ctx, mod, "")
	if err != nil || c == nil {
		return err
	}
	req := decisionFor(c, r)
	d, err := svc.Decide(ctx, mod, c.ID, req)
	if err != nil {
		svc.Release(ctx, mod, c.ID)
		return err
	}
	if !d.Restrictive() || d.Owner == "" || r.IntN(4) != 0 {
		return nil
	}
	a, _, err := svc.Appeal(ctx, incident.AppealRequest{Appellant: d.Owner, DecisionID: d.ID, Reason: "I am a real person and did nothing wrong."})
	if err != nil {
		return err
	}
	outcome, why := warden.AppealUpheld, "The activity matches the policy: the decision stands."
	if r.IntN(3) == 0 {
		outcome, why = warden.AppealReversed, "On a second look the activity was within the rules."
	}
	_, err = svc.DecideAppeal(ctx, other, a.ID, incident.AppealDecisionRequest{Outcome: outcome, Explanation: why})
	return err
}

// decisionFor is what a moderator decides on c: campaigns and scams are
// banned, fake profiles suspended for 30 days, one case in six found not to
// violate.
func decisionFor(c *warden.Case, r *mrand.Rand) incident.DecisionRequest {
	switch {
	case c.SubjectKind == warden.TargetCampaign:
		return incident.DecisionRequest{Action: warden.ActBanAccount, Policy: "Coordinated inauthentic behaviour",
			Explanation: "These accounts acted together to fake engagement on the same posts within seconds."}
	case r.IntN(6) == 0:
		return incident.DecisionRequest{Action: warden.ActNoViolation, Policy: "Community guidelines",
			Explanation: "The activity was reviewed and is within the rules."}
	case c.Category == warden.CategoryScam:
		return incident.DecisionRequest{Action: warden.ActBanAccount, Policy: "Fraud and scams",
			Explanation: "The account sent messages asking for money under false pretences."}
	case c.SubjectKind == warden.TargetContent:
		return incident.DecisionRequest{Action: warden.ActRemoveContent, Policy: "Community guidelines",
			Explanation: "The content breaks the community guidelines."}
	default:
		return incident.DecisionRequest{Action: warden.ActSuspendAccount, Policy: "Fake accounts", Duration: "720h",
			Explanation: "The account was created and run by automation rather than by a person."}
	}
}
