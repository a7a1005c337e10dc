package demo

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/partner"
	"github.com/wardenhq/warden/sqlstore"
)

// demoPartner is a synthetic partner platform of the demo: its name, the
// trust the demo gives it, and the emails of the scammers it caught.
type demoPartner struct {
	name, trust string
	emails      []string
}

// demoPartners: a high-trust partner whose listing blocks, a low-trust
// one whose listing is held to review.
var demoPartners = []demoPartner{
	{"bigco.demo", "high", []string{"winnings.desk@scam.example", "crypto.doubler@scam.example", "romance.ring@scam.example"}},
	{"smallco.demo", "low", []string{"prize.claims@scam.example", "giftcard.help@scam.example"}},
}

// PartnerOptions configure Partners.
type PartnerOptions struct {
	DB       *sqlstore.DB
	Partners *partner.Service
	// Group is the partner group's key the service hashes with: the demo
	// partners hash with it too, as real partners of the group would.
	Group  []byte
	Ingest func(ctx context.Context, evs []warden.Event) error
	Logger *slog.Logger
	// Every is the pause between signups with listed emails; 15 s if zero.
	Every time.Duration
}

// Partners plays "a partner feed arrives": each demo partner is
// registered with a key made for this start, signs a small feed of its
// scammers' emails (three accounts each, above any k up to 3), and the
// feed is imported as an admin's POST /v1/partners/feeds would. Then,
// until ctx ends, one of those scammers signs up every Every, so the rules
// show partner hits: a block for the high-trust partner, a review for the
// low-trust one.
func Partners(ctx context.Context, opt PartnerOptions) error {
	if opt.Every <= 0 {
		opt.Every = 15 * time.Second
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	h, err := partner.NewHasher(opt.Group)
	if err != nil {
		return err
	}
	var emails []string
	now := time.Now()
	for _, p := range demoPartners {
		_, key, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return err
		}
		if err := opt.DB.AddPartner(ctx, p.name, partner.PublicKeyText(key)); err != nil {
			return err
		}
		b := partner.NewBuilder(h)
		for range 3 { // three accounts on the partner's side carried each email
			b.Account(now.Add(-24 * time.Hour))
			for _, e := range p.emails {
				b.Value(partner.Value{Kind: partner.KindEmail, Clear: e})
			}
		}
		f := b.Feed(partner.FeedOptions{Issuer: p.name, K: 3, Now: now})
		f.Sign(key)
		body, err := json.Marshal(map[string]any{"partner": p.name, "trust": p.trust, "feed": f})
		if err != nil {
			return err
		}
		res, err := opt.Partners.Import(ctx, body)
		if err != nil {
			return fmt.Errorf("demo partner %s: %w", p.name, err)
		}
		opt.Logger.Info("demo: a partner feed arrived", "partner", p.name, "trust", p.trust, "imported", res.Imported)
		emails = append(emails, p.emails...)
	}
	t := time.NewTicker(opt.Every)
	defer t.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		at := time.Now()
		ev := warden.Event{ID: fmt.Sprintf("demo-partner-%d-%d", at.UnixNano(), i), Type: "signup", Time: at,
			Actor: fmt.Sprintf("newcomer-%d-%d", at.Unix(), i), Device: fmt.Sprintf("dev-newcomer-%d-%d", at.Unix(), i),
			Attrs: map[string]any{"email": emails[i%len(emails)], "user_agent": "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"}}
		if err := opt.Ingest(ctx, []warden.Event{ev}); err != nil && ctx.Err() == nil {
			return err
		}
	}
}
