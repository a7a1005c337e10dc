package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/partner"
	"github.com/wardenhq/warden/sqlstore"
)

// PartnerService is what the partner calls need: this server's signed
// feed, imports of partners' feeds, and the key partners verify with.
type PartnerService interface {
	Feed(ctx context.Context, since *time.Time) (*partner.Feed, error)
	Import(ctx context.Context, body []byte) (partner.ImportResult, error)
	PublicKey() string
}

type partnersAPI struct {
	svc PartnerService // nil: sharing is off (serve without --partner-key)
	db  *sqlstore.DB
}

const indicatorSchema = `{"type":"object","required":["type","hash","first_seen","expires_at","accounts"],"properties":{
"type":{"enum":["email","phone","url","device","ip_prefix"]},"hash":{"type":"string","pattern":"^[0-9a-f]{64}$","description":"HMAC-SHA256 of the normalised value with the partner group's key"},
"first_seen":{"type":"string","format":"date-time"},"expires_at":{"type":"string","format":"date-time"},"accounts":{"type":"integer","minimum":1}}}`

const feedSchema = `{"type":"object","required":["issuer","issued_at","expires_at","indicators","signature"],"properties":{
"issuer":{"type":"string"},"issued_at":{"type":"string","format":"date-time"},"expires_at":{"type":"string","format":"date-time"},
"since":{"type":"string","format":"date-time","description":"set on a delta: the indicators confirmed at or after it"},
"indicators":{"type":"array","items":` + indicatorSchema + `},
"signature":{"type":"string","description":"ed25519: and the unpadded base64url Ed25519 signature of the feed without signature, as compact JSON in this field order"}}}`

// RegisterPartners adds the partner-sharing calls of CONTRACT §10: a
// partner reads this server's signed feed, an admin imports a partner's.
// svc nil means sharing is off: the calls answer 409 saying how to turn
// it on.
func RegisterPartners(s *Server, svc PartnerService, db *sqlstore.DB) {
	h := &partnersAPI{svc: svc, db: db}
	s.Schema("PartnerFeed", feedSchema)
	s.Route(RouteSpec{Pattern: "GET /v1/partners/feed", Roles: []string{warden.RolePartner},
		Summary:  "This server's indicator feed, signed (Ed25519): keyed hashes (HMAC-SHA256 with the partner group's key) of the normalised emails, phones, URLs, devices and IP prefixes of accounts restricted for abuse, each carried by at least k distinct such accounts. ?since=RFC 3339 gives a delta (the indicators confirmed at or after it); ?format=stix a STIX 2.1 bundle of the same.",
		Response: []byte(`{"$ref":"#/components/schemas/PartnerFeed"}`)}, h.feed)
	s.Route(RouteSpec{Pattern: "POST /v1/partners/feeds", Roles: []string{warden.RoleAdmin}, Status: http.StatusCreated,
		Summary: "Import a partner's feed into the lists rules read (partner_listed, partner_trust): a whole feed replaces the partner's list, a delta (since) is merged into it. A feed whose signature does not verify with the partner's registered key is 422; a malformed feed, an indicator in the clear, an unknown partner or trust is a clear error; in each case nothing is imported. Indicators expired or carried by fewer than this server's k accounts are rejected.",
		Request: []byte(`{"type":"object","additionalProperties":false,"required":["partner","trust","feed"],"properties":{"partner":{"type":"string","description":"registered with warden partners add"},
"trust":{"enum":["low","medium","high"]},"feed":{"$ref":"#/components/schemas/PartnerFeed"}}}`),
		Response: []byte(`{"type":"object","required":["imported","rejected"],"properties":{"imported":{"type":"integer"},"rejected":{"type":"integer"}}}`)}, h.importFeed)
	s.Route(RouteSpec{Pattern: "GET /v1/partners", Roles: []string{warden.RoleAdmin},
		Summary: "The registered partners (name, public key, trust and indicators listed from the last import) and this server's own feed key, which partners register.",
		Response: []byte(`{"type":"object","properties":{"public_key":{"type":"string"},"partners":{"type":"array","items":{"type":"object","properties":{
"name":{"type":"string"},"public_key":{"type":"string"},"trust":{"type":"string"},"listed":{"type":"integer"}}}}}}`)}, h.list)
}

func (h *partnersAPI) off() error {
	return warden.Errorf(warden.ECONFLICT, "partner sharing is off on this server: start warden serve with --partner-key FILE (the partner group's shared key)")
}

func (h *partnersAPI) feed(w http.ResponseWriter, r *http.Request, _ *warden.Principal) error {
	if h.svc == nil {
		return h.off()
	}
	q := r.URL.Query()
	var since *time.Time
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return warden.FieldErrorf("since", "since must be an RFC 3339 time such as 2026-03-01T00:00:00Z")
		}
		since = &t
	}
	format := q.Get("format")
	if format != "" && format != "json" && format != "stix" {
		return warden.FieldErrorf("format", "format is json (the default) or stix")
	}
	f, err := h.svc.Feed(r.Context(), since)
	if err != nil {
		return err
	}
	if format != "stix" {
		return WriteJSON(w, http.StatusOK, f)
	}
	doc, err := f.STIX()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/stix+json;version=2.1")
	_, err = w.Write(doc)
	return err
}

func (h *partnersAPI) importFeed(w http.ResponseWriter, r *http.Request, _ *warden.Principal) error {
	if h.svc == nil {
		return h.off()
	}
	body, err := ReadBody(r, partner.MaxImportBytes)
	if err != nil {
		return err
	}
	res, err := h.svc.Import(r.Context(), body)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusCreated, res)
}

func (h *partnersAPI) list(w http.ResponseWriter, r *http.Request, _ *warden.Principal) error {
	ps, err := h.db.Partners(r.Context())
	if err != nil {
		return err
	}
	if ps == nil {
		ps = []sqlstore.Partner{}
	}
	out := struct {
		PublicKey string             `json:"public_key,omitempty"`
		Partners  []sqlstore.Partner `json:"partners"`
	}{Partners: ps}
	if h.svc != nil {
		out.PublicKey = h.svc.PublicKey()
	}
	return WriteJSON(w, http.StatusOK, out)
}
