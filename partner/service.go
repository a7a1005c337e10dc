package partner

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/wardenhq/warden"
)

// Store is what the partner service keeps in the store: the partners
// registered to import from, the lists imported from them, and the
// confirmed bad actors its own feed is built from.
type Store interface {
	// PartnerKey returns the Ed25519 public key registered for
	// partner (as EncodePublicKey writes it); ENOTFOUND if none is.
	PartnerKey(ctx context.Context, partner string) (string, error)
	// SavePartnerList keeps partner's imported list (Lists.Pack) and trust.
	SavePartnerList(ctx context.Context, partner, trust string, packed []byte, at time.Time) error
	// PartnerLists calls fn with every stored list and when it was
	// imported (unix microseconds).
	PartnerLists(ctx context.Context, fn func(partner, trust string, packed []byte, importedUS int64) error) error
	// PartnerListStamps returns when each stored list was imported
	// (unix microseconds), by partner: cheap, for noticing another
	// server's imports.
	PartnerListStamps(ctx context.Context) (map[string]int64, error)
	// Confirmed calls fn with each account restricted for abuse by a
	// decision in force (not reversed), when it was first restricted, and
	// the bodies of its logged events; all of one account's events
	// together.
	Confirmed(ctx context.Context, fn func(account string, at time.Time, event []byte) error) error
}

// Config configures a Service.
type Config struct {
	GroupKey   []byte             // the partner group's HMAC key (--partner-key)
	SigningKey ed25519.PrivateKey // this server's feed signing key
	Issuer     string             // this server's name in its feeds
	K          int                // the threshold (--partner-k)
	Store      Store
	Logger     *slog.Logger
	Now        func() time.Time // time.Now if nil
}

// DefaultK is the default threshold: an indicator is shared once three
// distinct confirmed accounts carry it.
const DefaultK = 3

// Service builds this server's signed feed and imports partners' feeds
// into the Lists the rule engine reads.
type Service struct {
	cfg      Config
	lists    *Lists
	hasher   *Hasher
	importMu sync.Mutex       // one import at a time: a delta merges into the list before it
	stamps   map[string]int64 // when each list in memory was imported; under importMu

	feedMu    sync.Mutex // one build at a time; the others wait and take its feed
	lastFeed  *Feed
	lastSince string
	lastAt    time.Time
}

// FeedCache is how long a built feed is served again to the next
// partner asking the same question: a build reads every restricted
// account's events.
const FeedCache = time.Minute

// New returns a Service with the lists stored earlier loaded.
func New(ctx context.Context, cfg Config) (*Service, error) {
	h, err := NewHasher(cfg.GroupKey)
	if err != nil {
		return nil, err
	}
	if len(cfg.SigningKey) != ed25519.PrivateKeySize {
		return nil, errorf("the feed signing key is not an Ed25519 private key")
	}
	if cfg.K < 1 {
		return nil, errorf("the partner threshold k is %d; it must be at least 1", cfg.K)
	}
	if strings.TrimSpace(cfg.Issuer) == "" {
		return nil, errorf("the partner issuer name is empty")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Service{cfg: cfg, hasher: h, lists: NewLists(h), stamps: map[string]int64{}}
	s.lists.now = cfg.Now
	if err := s.load(ctx, nil); err != nil {
		return nil, err
	}
	return s, nil
}

// load puts the stored lists in memory: all of them, or those of the
// partners in only. Call with importMu held, or before s is shared.
func (s *Service) load(ctx context.Context, only map[string]bool) error {
	return s.cfg.Store.PartnerLists(ctx, func(partner, trust string, packed []byte, at int64) error {
		if only != nil && !only[partner] {
			return nil
		}
		t, ok := ParseTrust(trust)
		if !ok {
			return errorf("partner %q's stored trust %q is not low, medium or high", partner, trust)
		}
		if err := s.lists.Unpack(partner, t, packed); err != nil {
			return err
		}
		s.stamps[partner] = at
		return nil
	})
}

// Refresh loads the lists another server sharing the store imported
// since this one last looked.
func (s *Service) Refresh(ctx context.Context) error {
	stamps, err := s.cfg.Store.PartnerListStamps(ctx)
	if err != nil {
		return err
	}
	s.importMu.Lock()
	defer s.importMu.Unlock()
	changed := map[string]bool{}
	for p, at := range stamps {
		if s.stamps[p] != at {
			changed[p] = true
		}
	}
	if len(changed) == 0 {
		return nil
	}
	return s.load(ctx, changed)
}

// Run refreshes the lists every period until ctx ends, so that every
// server on one store reads what an admin imported on any of them.
func (s *Service) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.Refresh(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Error("partner lists not refreshed from the store", "err", err)
		}
	}
}

// Lists returns the imported lists, for the rule engine (engine.Partners).
func (s *Service) Lists() *Lists { return s.lists }

// PublicKey returns this server's feed verification key, as partners
// register it.
func (s *Service) PublicKey() string {
	return PublicKeyText(s.cfg.SigningKey)
}

// Feed builds and signs this server's feed: the keyed hashes of the
// normalised values carried by at least k accounts restricted for abuse;
// with since, only those confirmed at or after it.
func (s *Service) Feed(ctx context.Context, since *time.Time) (*Feed, error) {
	key := ""
	if since != nil {
		key = since.UTC().Format(time.RFC3339Nano)
	}
	s.feedMu.Lock()
	defer s.feedMu.Unlock()
	now := s.cfg.Now()
	if s.lastFeed != nil && s.lastSince == key && now.Sub(s.lastAt) < FeedCache && !now.Before(s.lastAt) {
		return s.lastFeed, nil
	}
	f, err := s.build(ctx, since)
	if err != nil {
		return nil, err
	}
	s.lastFeed, s.lastSince, s.lastAt = f, key, now
	return f, nil
}

func (s *Service) build(ctx context.Context, since *time.Time) (*Feed, error) {
	b := NewBuilder(s.hasher)
	last := ""
	var vals []Value
	err := s.cfg.Store.Confirmed(ctx, func(account string, at time.Time, body []byte) error {
		if account != last {
			b.Account(at)
			last = account
		}
		var ev warden.Event
		if json.Unmarshal(body, &ev) != nil {
			return nil // the log holds only validated events; skip what cannot be read
		}
		vals = ValuesOf(&ev, vals[:0])
		for _, v := range vals {
			b.Value(v)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	f := b.Feed(FeedOptions{Issuer: s.cfg.Issuer, K: s.cfg.K, Now: s.cfg.Now(), Since: since})
	f.Sign(s.cfg.SigningKey)
	return f, nil
}

// MaxImportBytes bounds the body of an import: about 12 million
// indicators.
const MaxImportBytes = 2 << 30

// importRequest is POST /v1/partners/feeds's body.
type importRequest struct {
	Partner string         `json:"partner"`
	Trust   string         `json:"trust"`
	Feed    jsontext.Value `json:"feed"`
}

// Import decodes an import request ({"partner", "trust", "feed"}), checks
// the feed, verifies its signature with the partner's registered key and
// lists its indicators. A malformed request or feed, an unknown partner or
// trust, an indicator in the clear is EINVALID (ENOTFOUND for an unknown
// partner); a signature that does not verify is EUNVERIFIED; in each case
// nothing is imported.
func (s *Service) Import(ctx context.Context, body []byte) (ImportResult, error) {
	var req importRequest
	if err := jsonv2.Unmarshal(body, &req, jsonv2.RejectUnknownMembers(true)); err != nil {
		var se *jsonv2.SemanticError
		if strings.Contains(err.Error(), "unknown") && errors.As(err, &se) {
			f := strings.TrimPrefix(string(se.JSONPointer), "/")
			return ImportResult{}, warden.FieldErrorf(f, "%s is not a field of an import: send partner, trust and feed", f)
		}
		return ImportResult{}, warden.Errorf(warden.EINVALID, "the import is not a JSON object {\"partner\", \"trust\", \"feed\"}: %s", clip(err.Error()))
	}
	trust, ok := ParseTrust(req.Trust)
	switch {
	case req.Partner == "":
		return ImportResult{}, warden.FieldErrorf("partner", "partner is required: the name it was registered under (warden partners add)")
	case !ok:
		return ImportResult{}, warden.FieldErrorf("trust", "trust must be low, medium or high: how far this partner's listings are relied on (only high may block alone)")
	case len(req.Feed) == 0:
		return ImportResult{}, warden.FieldErrorf("feed", "feed is required: the partner's feed as GET /v1/partners/feed returned it")
	}
	pubText, err := s.cfg.Store.PartnerKey(ctx, req.Partner)
	if warden.ErrorCode(err) == warden.ENOTFOUND {
		return ImportResult{}, &warden.Error{Code: warden.ENOTFOUND, Field: "partner",
			Message: "no partner " + strconv.Quote(req.Partner) + " is registered: register it and its key first (warden partners add NAME --key KEY)"}
	}
	if err != nil {
		return ImportResult{}, err
	}
	pub, err := ParsePublicKey(pubText)
	if err != nil {
		return ImportResult{}, err
	}
	f, err := DecodeFeed(req.Feed, "feed.")
	if err != nil {
		return ImportResult{}, err
	}
	if err := f.Verify(pub); err != nil {
		return ImportResult{}, err
	}
	if !f.ExpiresAt.After(s.cfg.Now()) {
		return ImportResult{}, warden.FieldErrorf("feed.expires_at", "the feed expired at %s: fetch a fresh one from the partner", f.ExpiresAt.Format(time.RFC3339))
	}
	// Stored first: an import the store did not take is not listed.
	s.importMu.Lock()
	defer s.importMu.Unlock()
	list, res := s.lists.prepare(req.Partner, trust, f, s.cfg.K)
	at := s.cfg.Now()
	if err := s.cfg.Store.SavePartnerList(ctx, req.Partner, req.Trust, list.pack(at.Unix()), at); err != nil {
		return ImportResult{}, err
	}
	s.lists.put(list)
	s.stamps[req.Partner] = at.UnixMicro()
	s.cfg.Logger.Info("partner feed imported", "partner", req.Partner, "issuer", f.Issuer, "trust", req.Trust,
		"imported", res.Imported, "rejected", res.Rejected, "listed", s.lists.Count(req.Partner))
	return res, nil
}
