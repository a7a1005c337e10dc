package consent

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/sqlstore"
)

// Decisions.
const (
	Accept  = "accept"
	Decline = "decline"
)

// Options configure a Service.
type Options struct {
	DB   *sqlstore.DB
	Keys *Keyring
	// PolicyURL is the public page of the platform's policies, the
	// receipts' policyUrl; empty: a urn naming the document version.
	PolicyURL string
	Now       func() time.Time // the clock; time.Now when nil
}

// Service is the consent service.
type Service struct {
	opt Options

	mu    sync.Mutex
	cache *docSet
}

// New returns a Service.
func New(opt Options) *Service {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Service{opt: opt}
}

// Keys returns the receipt-signing keys.
func (s *Service) Keys() *Keyring { return s.opt.Keys }

// JWKS returns the public keys that verify receipts, old ones included.
func (s *Service) JWKS() (jose.JSONWebKeySet, error) { return s.opt.Keys.JWKS() }

// DocumentResult is the answer to POST /v1/documents.
type DocumentResult struct {
	ID              string   `json:"id"`
	Kind            string   `json:"kind"`
	Region          string   `json:"region"`
	Version         string   `json:"version"`
	Material        bool     `json:"material"`
	MaterialReasons []string `json:"material_reasons"`
	WhatChanged     []string `json:"what_changed"`
}

// AddDocument stores a new version and says whether it is material against
// the previous version of its kind and region.
func (s *Service) AddDocument(ctx context.Context, p *warden.Principal, req DocumentRequest) (*DocumentResult, error) {
	var res DocumentResult
	_, err := s.opt.DB.AddDocument(ctx, req.Kind, req.Region, func(prev *sqlstore.PolicyDocument) (*sqlstore.PolicyDocument, error) {
		var prevDecl *Declarations
		prevText := ""
		if prev != nil {
			prevDecl = new(Declarations)
			if err := json.Unmarshal([]byte(prev.Declares), prevDecl); err != nil {
				return nil, fmt.Errorf("document %s: %w", prev.ID, err)
			}
			prevText = prev.Body
		}
		c := Compare(req.Kind, req.Region, prevDecl, prevText, *req.Declares, req.Text)
		decl, _ := json.Marshal(req.Declares)
		reasons, _ := json.Marshal(c.Reasons)
		words, _ := json.Marshal(c.WhatChanged)
		sum := sha256.Sum256([]byte(req.Text))
		d := &sqlstore.PolicyDocument{
			ID: "doc_" + randomID(), Version: req.Version, Body: req.Text, BodySHA256: hex.EncodeToString(sum[:]),
			Declares: string(decl), Material: c.Material, MaterialReasons: string(reasons), WhatChanged: string(words),
			Diff: FormatDiff(c.Diff), CreatedUS: s.opt.Now().UnixMicro(),
		}
		if p != nil {
			d.CreatedBy = p.ID
		}
		res = DocumentResult{ID: d.ID, Kind: req.Kind, Region: req.Region, Version: req.Version, Material: c.Material,
			MaterialReasons: c.Reasons, WhatChanged: c.WhatChanged}
		return d, nil
	})
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.cache = nil
	s.mu.Unlock()
	return &res, nil
}

// DocumentView is one document version with its text and diff, as GET
// /v1/documents/{id} returns it.
type DocumentView struct {
	DocumentResult
	Text       string       `json:"text"`
	TextSHA256 string       `json:"text_sha256"`
	Declares   Declarations `json:"declares"`
	Diff       string       `json:"diff"`
	CreatedAt  time.Time    `json:"created_at"`
}

// Document returns one version.
func (s *Service) Document(ctx context.Context, id string) (*DocumentView, error) {
	d, err := s.opt.DB.DocumentByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if d == nil {
		return nil, warden.Errorf(warden.ENOTFOUND, "no document %q", id)
	}
	m, err := parseDoc(*d)
	if err != nil {
		return nil, err
	}
	return &DocumentView{DocumentResult: m.result(), Text: d.Body, TextSHA256: d.BodySHA256, Declares: m.declares,
		Diff: d.Diff, CreatedAt: time.UnixMicro(d.CreatedUS).UTC()}, nil
}

// doc is a document version's metadata, parsed.
type doc struct {
	sqlstore.PolicyDocument
	declares    Declarations
	reasons     []string
	whatChanged []string
	phrases     []Phrase // whatChanged as data, rebuilt from the declarations
}

func (d *doc) result() DocumentResult {
	return DocumentResult{ID: d.ID, Kind: d.Kind, Region: d.Region, Version: d.Version, Material: d.Material,
		MaterialReasons: d.reasons, WhatChanged: d.whatChanged}
}

func parseDoc(p sqlstore.PolicyDocument) (*doc, error) {
	d := &doc{PolicyDocument: p}
	for _, f := range []struct {
		s string
		v any
	}{{p.Declares, &d.declares}, {p.MaterialReasons, &d.reasons}, {p.WhatChanged, &d.whatChanged}} {
		if err := json.Unmarshal([]byte(f.s), f.v); err != nil {
			return nil, fmt.Errorf("document %s: %w", p.ID, err)
		}
	}
	return d, nil
}

// docSet is every document version, by id and by series, oldest first.
type docSet struct {
	last   int64
	byID   map[string]*doc
	series map[[2]string][]*doc // kind, region
}

// docs returns the document versions, reloaded when one was added here or
// (checked with one indexed query) by another process.
func (s *Service) docs(ctx context.Context) (*docSet, error) {
	last, err := s.opt.DB.LastDocumentSeq(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	c := s.cache
	s.mu.Unlock()
	if c != nil && c.last == last {
		return c, nil
	}
	rows, err := s.opt.DB.DocumentsMeta(ctx)
	if err != nil {
		return nil, err
	}
	c = &docSet{byID: map[string]*doc{}, series: map[[2]string][]*doc{}}
	for _, r := range rows {
		d, err := parseDoc(r)
		if err != nil {
			return nil, err
		}
		c.byID[d.ID] = d
		k := [2]string{d.Kind, d.Region}
		c.series[k] = append(c.series[k], d)
		c.last = max(c.last, d.Seq)
	}
	for _, series := range c.series {
		for i, d := range series {
			if i == 0 {
				d.phrases = []Phrase{{ID: PhraseFirstVersion, Kind: d.Kind, Region: d.Region}}
				continue
			}
			_, d.phrases = compareDeclarations(series[i-1].declares, d.declares)
			d.phrases = append(d.phrases, textPhrase(d.Material, storedLineCount(d.whatChanged))...)
		}
	}
	s.mu.Lock()
	s.cache = c
	s.mu.Unlock()
	return c, nil
}

// seriesFor returns the versions of kind that apply in region: the
// region's own, or else those for every region.
func (c *docSet) seriesFor(kind, region string) []*doc {
	if v := c.series[[2]string{kind, region}]; len(v) > 0 {
		return v
	}
	return c.series[[2]string{kind, AnyRegion}]
}

// Pending is a document the user has to decide on.
type Pending struct {
	DocumentID  string   `json:"document_id"`
	Kind        string   `json:"kind"`
	Region      string   `json:"region"`
	Version     string   `json:"version"`
	WhatChanged []string `json:"what_changed"`
	Phrases     []Phrase `json:"-"` // WhatChanged as data, for the center's languages
}

// Current is the user's latest decision on a kind of document.
type Current struct {
	DocumentID string    `json:"document_id"`
	Kind       string    `json:"kind"`
	Region     string    `json:"region"`
	Version    string    `json:"version"`
	Decision   string    `json:"decision"`
	At         time.Time `json:"at"`
	ReceiptID  string    `json:"receipt_id"`
}

// Status is GET /v1/users/{user}/consent.
type Status struct {
	Pending []Pending `json:"pending"`
	Current []Current `json:"current"`
}

// CheckRegion refuses a region outside Regions; "" means AnyRegion.
func CheckRegion(region string) (string, error) {
	if region == "" {
		return AnyRegion, nil
	}
	if !slices.Contains(Regions, region) {
		return "", warden.FieldErrorf("region", "region must be one of %s", strings.Join(Regions, ", "))
	}
	return region, nil
}

// Status returns what the user has decided and what waits for a decision
// in region. A document is pending unless the user accepted a version of it
// at or after its last material change: a decline, or no decision, leaves
// it pending (fail closed), and a text-only edit asks nothing again.
func (s *Service) Status(ctx context.Context, user, region string) (*Status, error) {
	if err := warden.CheckUserID("user", user); err != nil {
		return nil, err
	}
	region, err := CheckRegion(region)
	if err != nil {
		return nil, err
	}
	c, err := s.docs(ctx)
	if err != nil {
		return nil, err
	}
	ds, err := s.opt.DB.UserConsentDecisions(ctx, user)
	if err != nil {
		return nil, err
	}
	st := &Status{Pending: []Pending{}, Current: []Current{}}
	for _, kind := range Kinds {
		series := c.seriesFor(kind, region)
		if len(series) == 0 {
			continue
		}
		latest := series[len(series)-1]
		var lastMaterial int64
		for _, d := range series {
			if d.Material {
				lastMaterial = d.Seq
			}
		}
		var last, lastAccept *sqlstore.ConsentDecision
		for i := range ds {
			d := &ds[i]
			if d.Kind != kind || d.Region != latest.Region {
				continue
			}
			last = d
			if d.Decision == Accept && (lastAccept == nil || d.DocumentSeq > lastAccept.DocumentSeq) {
				lastAccept = d
			}
		}
		if last != nil {
			st.Current = append(st.Current, Current{DocumentID: last.DocumentID, Kind: kind, Region: last.Region, Version: last.Version,
				Decision: last.Decision, At: time.UnixMicro(last.AtUS).UTC(), ReceiptID: last.ReceiptID})
		}
		if lastAccept != nil && lastAccept.DocumentSeq >= lastMaterial {
			continue
		}
		p := Pending{DocumentID: latest.ID, Kind: kind, Region: latest.Region, Version: latest.Version, WhatChanged: []string{}}
		if last != nil && last.Decision == Decline {
			p.Phrases = append(p.Phrases, Phrase{ID: PhraseDeclined, Version: last.Version, Date: time.UnixMicro(last.AtUS).UTC().Format("2006-01-02")})
		}
		if lastAccept == nil {
			p.Phrases = append(p.Phrases, Phrase{ID: PhraseNotAccepted, Kind: kind})
			p.WhatChanged = append(p.WhatChanged, English(p.Phrases)...)
		} else {
			p.WhatChanged = append(p.WhatChanged, English(p.Phrases)...)
			for _, d := range series {
				if d.Material && d.Seq > lastAccept.DocumentSeq {
					p.WhatChanged = append(p.WhatChanged, d.whatChanged...)
					p.Phrases = append(p.Phrases, d.phrases...)
				}
			}
		}
		st.Pending = append(st.Pending, p)
	}
	return st, nil
}

// DecisionRequest is the body of POST /v1/users/{user}/consent.
type DecisionRequest struct {
	DocumentID       string `json:"document_id"`
	Decision         string `json:"decision"`
	CollectionMethod string `json:"collection_method"`
}

// MaxDecisionBody bounds a decision's body.
const MaxDecisionBody = 16 << 10

// DecodeDecision decodes and validates a decision strictly.
func DecodeDecision(body []byte) (DecisionRequest, error) {
	var r DecisionRequest
	if len(body) > MaxDecisionBody {
		return r, warden.Errorf(warden.ETOOLARGE, "the body is %d bytes; a decision is at most %d", len(body), MaxDecisionBody)
	}
	if err := warden.DecodeStrict(body, &r); err != nil {
		return DecisionRequest{}, err
	}
	if err := checkLine("document_id", r.DocumentID, 128, true); err != nil {
		return DecisionRequest{}, err
	}
	if r.Decision != Accept && r.Decision != Decline {
		return DecisionRequest{}, warden.FieldErrorf("decision", "decision must be accept or decline")
	}
	r.CollectionMethod = strings.TrimSpace(r.CollectionMethod)
	if err := checkLine("collection_method", r.CollectionMethod, MaxItemLen, true); err != nil {
		return DecisionRequest{}, warden.FieldErrorf("collection_method", "%s (how the decision was collected, such as \"signup form\" or \"terms update banner\")", warden.ErrorMessage(err))
	}
	return r, nil
}

// Decision is the answer to POST /v1/users/{user}/consent.
type Decision struct {
	ReceiptID string `json:"receipt_id"`
	Receipt   string `json:"receipt"`
}

// Decide records the user's decision on a document's current version and
// returns its signed receipt. A document that does not exist is ENOTFOUND
// (field document_id); an older version than its series' latest is
// ECONFLICT, since the user was not shown what applies now.
func (s *Service) Decide(ctx context.Context, user string, req DecisionRequest) (*Decision, error) {
	if err := warden.CheckUserID("user", user); err != nil {
		return nil, err
	}
	c, err := s.docs(ctx)
	if err != nil {
		return nil, err
	}
	d, ok := c.byID[req.DocumentID]
	if !ok {
		return nil, &warden.Error{Code: warden.ENOTFOUND, Field: "document_id", Message: fmt.Sprintf("no document %q: GET /v1/users/{user}/consent names the ones pending", req.DocumentID)}
	}
	series := c.series[[2]string{d.Kind, d.Region}]
	if latest := series[len(series)-1]; latest.ID != d.ID {
		return nil, &warden.Error{Code: warden.ECONFLICT, Field: "document_id",
			Message: fmt.Sprintf("document %s is version %s of the %s for %s, which version %s (%s) replaced: show the user that one", d.ID, d.Version, kindWords(d.Kind), regionWords(d.Region), latest.Version, latest.ID)}
	}
	rec := &sqlstore.ConsentDecision{
		ReceiptID: "cr_" + randomID(), UserID: user, DocumentID: d.ID, DocumentSeq: d.Seq, Kind: d.Kind, Region: d.Region,
		Version: d.Version, BodySHA256: d.BodySHA256, Decision: req.Decision, CollectionMethod: req.CollectionMethod,
		AtUS: s.opt.Now().UnixMicro(),
	}
	payload, err := json.Marshal(buildReceipt(rec, d.declares, s.opt.PolicyURL))
	if err != nil {
		return nil, err
	}
	if rec.Receipt, rec.KeyID, err = s.opt.Keys.Sign(payload); err != nil {
		return nil, fmt.Errorf("sign receipt: %w", err)
	}
	if err := s.opt.DB.AddConsentDecision(ctx, rec); err != nil {
		return nil, err
	}
	return &Decision{ReceiptID: rec.ReceiptID, Receipt: rec.Receipt}, nil
}

// Receipt returns a stored receipt of user.
func (s *Service) Receipt(ctx context.Context, user, id string) (*Decision, error) {
	r, err := s.opt.DB.ConsentReceipt(ctx, id)
	if err != nil {
		return nil, err
	}
	if r == nil || r.UserID != user {
		return nil, warden.Errorf(warden.ENOTFOUND, "no receipt %q for this user", id)
	}
	return &Decision{ReceiptID: r.ReceiptID, Receipt: r.Receipt}, nil
}

// DocumentText returns the text of a document version, for a page that
// shows it to the user.
func (s *Service) DocumentText(ctx context.Context, id string) (string, error) {
	d, err := s.Document(ctx, id)
	if err != nil {
		return "", err
	}
	return d.Text, nil
}

func randomID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
