package demo

import (
	"context"
	"time"

	"github.com/wardenhq/warden/datarequest"
	"github.com/wardenhq/warden/ledger"
)

// LedgerOptions configure Ledger.
type LedgerOptions struct {
	Access   *ledger.Service
	Requests *datarequest.Service
	// User is the demo's platform user (the one whose center link the demo
	// prints).
	User string
}

// Ledger gives the demo user, once per store, a few entries in the
// data-access ledger (a support agent with a ticket, the billing service, a
// moderation vendor reading messages for a purpose not allowed for them,
// which is flagged to admins) and an open access request, so a newcomer
// sees the center's "who accessed your data", the admins' Ledgers page and
// the request clock.
func Ledger(ctx context.Context, opt LedgerOptions) error {
	v, err := opt.Access.UserView(ctx, opt.User, ledger.MaxDays)
	if err != nil || len(v.Entries) > 0 {
		return err
	}
	now := time.Now()
	accesses := []ledger.Access{
		{User: opt.User, Actor: ledger.Actor{Class: ledger.ClassEmployee, ID: "support-agent-17", Region: "IE"}, Purpose: ledger.UserInitiatedSupport,
			Ticket: "zendesk:48213", DataCategories: []string{"profile", "account"}, Time: now.Add(-50 * time.Hour), UserRegion: "IE"},
		{User: opt.User, Actor: ledger.Actor{Class: ledger.ClassService, ID: "billing"}, Purpose: ledger.ServiceOperation,
			DataCategories: []string{"payment"}, Time: now.Add(-26 * time.Hour)},
		{User: opt.User, Actor: ledger.Actor{Class: ledger.ClassVendor, ID: "moderation-bpo-3", Region: "PH"}, Purpose: ledger.ServiceOperation,
			DataCategories: []string{"messages"}, Time: now.Add(-3 * time.Hour), UserRegion: "IE"},
	}
	for _, a := range accesses {
		if err := a.Validate(now); err != nil {
			return err
		}
		if _, err := opt.Access.Record(ctx, a); err != nil {
			return err
		}
	}
	if opt.Requests != nil {
		if _, err := opt.Requests.Create(ctx, opt.User, datarequest.KindAccess); err != nil {
			return err
		}
	}
	return nil
}
