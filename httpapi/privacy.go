package httpapi

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/consent"
	"github.com/wardenhq/warden/mfa"
)

// CenterLinker makes the short-lived signed link to a user's safety and
// privacy center (package web serves the page).
type CenterLinker interface {
	Link(origin, user, region string) (url string, expires time.Time)
}

// Privacy is what the calls of CONTRACT §7 need.
type Privacy struct {
	Consent *consent.Service
	MFA     *mfa.Service
	Center  CenterLinker
	// Origin is the public origin the center's links start with
	// ("https://warden.example.com"); empty: the request's own.
	Origin string
}

type privacyAPI struct{ Privacy }

// RegisterPrivacy adds the privacy and control calls of CONTRACT §7:
// policy documents, consent with signed receipts and their public keys, TOTP
// two-factor authentication and its education funnel, and the links to the
// safety and privacy center.
func RegisterPrivacy(s *Server, p Privacy) {
	h := &privacyAPI{p}
	app := []string{warden.RoleApp}
	admin := []string{warden.RoleAdmin}
	strs := `{"type":"array","items":{"type":"string"}}`
	docResult := `{"type":"object","required":["id","kind","region","version","material","material_reasons","what_changed"],"properties":{"id":{"type":"string"},"kind":{"type":"string"},"region":{"type":"string"},"version":{"type":"string"},"material":{"type":"boolean"},"material_reasons":` + strs + `,"what_changed":` + strs + `}}`
	s.Route(RouteSpec{Pattern: "POST /v1/documents", Roles: admin, Status: 201,
		Summary: "A new version of a policy document for a kind and region. Material when a declaration (purposes, data categories, recipients, retention, controller, contact: the ISO/IEC 29184 triggers) changed against the previous version of the same kind and region; a text-only edit is not. A material version makes users pending until they accept it.",
		Request: []byte(`{"type":"object","additionalProperties":false,"required":["kind","region","version","text","declares"],"properties":{
"kind":{"enum":["terms","privacy_policy","community_guidelines"]},"region":{"enum":["US","UK","MX","JP","FR","DE","ID","*"]},"version":{"type":"string","maxLength":64},"text":{"type":"string"},
"declares":{"type":"object","additionalProperties":false,"required":["controller","contact"],"properties":{"purposes":` + strs + `,"data_categories":` + strs + `,"recipients":` + strs + `,"retention":{"type":"string"},"controller":{"type":"string"},"contact":{"type":"string"}}}}}`),
		Response: []byte(docResult)}, h.addDocument)
	s.Route(RouteSpec{Pattern: "GET /v1/documents/{id}", Roles: app,
		Summary: "One document version: its text, declarations, what changed against the version before it and the line diff of the text."}, h.document)
	s.Route(RouteSpec{Pattern: "GET /v1/users/{user}/consent", Roles: app,
		Summary: "The user's consent in ?region= (a market, or * / absent for the documents of every region): documents pending a decision (none accepted since the last material change; a decline stays pending) with what changed, and the latest decision on each kind.",
		Response: []byte(`{"type":"object","required":["pending","current"],"properties":{
"pending":{"type":"array","items":{"type":"object","required":["document_id","kind","version","what_changed"],"properties":{"document_id":{"type":"string"},"kind":{"type":"string"},"region":{"type":"string"},"version":{"type":"string"},"what_changed":` + strs + `}}},
"current":{"type":"array","items":{"type":"object","required":["document_id","kind","version","decision","at","receipt_id"],"properties":{"document_id":{"type":"string"},"kind":{"type":"string"},"region":{"type":"string"},"version":{"type":"string"},"decision":{"enum":["accept","decline"]},"at":{"type":"string","format":"date-time"},"receipt_id":{"type":"string"}}}}}}`)}, h.consentStatus)
	s.Route(RouteSpec{Pattern: "POST /v1/users/{user}/consent", Roles: app, Status: 201,
		Summary:  "Record the user's accept or decline of a document's current version. The receipt is a compact JWS (ES256) whose payload has the Kantara Consent Receipt v1.1 fields and the document version served; GET /.well-known/jwks.json has the key that verifies it.",
		Request:  []byte(`{"type":"object","additionalProperties":false,"required":["document_id","decision","collection_method"],"properties":{"document_id":{"type":"string"},"decision":{"enum":["accept","decline"]},"collection_method":{"type":"string","maxLength":200}}}`),
		Response: []byte(`{"type":"object","required":["receipt_id","receipt"],"properties":{"receipt_id":{"type":"string"},"receipt":{"type":"string","description":"compact JWS"}}}`)}, h.decide)
	prompt := `{"type":"object","additionalProperties":false,"properties":{"region":{"enum":["US","UK","MX","JP","FR","DE","ID"]},"moment":{"type":"string","description":"where the user was prompted: after_login, after_security_event, center …"},"variant":{"type":"string"}}}`
	code := `{"type":"object","additionalProperties":false,"required":["code"],"properties":{"code":{"type":"string"}}}`
	s.Route(RouteSpec{Pattern: "POST /v1/users/{user}/2fa/totp", Roles: app, Status: 201,
		Summary: "Begin a TOTP enrolment (RFC 6238: SHA-1, 6 digits, 30 s). The body is optional: where the user was prompted, for the education funnel. 409 when 2FA is on or an enrolment is pending.",
		Request: []byte(prompt), Response: []byte(`{"type":"object","required":["secret","otpauth_uri"],"properties":{"secret":{"type":"string"},"otpauth_uri":{"type":"string"}}}`)}, h.beginTOTP)
	s.Route(RouteSpec{Pattern: "POST /v1/users/{user}/2fa/totp/confirm", Roles: app,
		Summary: "Confirm the enrolment with a current code: 2FA is on, and the ten single-use recovery codes are returned once. A wrong code is 422; repeated failures 429 with Retry-After.",
		Request: []byte(code), Response: []byte(`{"type":"object","required":["recovery_codes"],"properties":{"recovery_codes":{"type":"array","minItems":10,"maxItems":10,"items":{"type":"string"}}}}`)}, h.confirmTOTP)
	s.Route(RouteSpec{Pattern: "POST /v1/users/{user}/2fa/verify", Roles: app,
		Summary: "Check a TOTP code or a recovery code (the step-up a rule's challenge action asks for). Each code is accepted once: a replayed TOTP code, a used recovery code or a wrong one is 422; repeated failures lock the user for a while (429 with Retry-After).",
		Request: []byte(code), Response: []byte(`{"type":"object","required":["ok","method"],"properties":{"ok":{"const":true},"method":{"enum":["totp","recovery_code"]}}}`)}, h.verify)
	s.Route(RouteSpec{Pattern: "GET /v1/users/{user}/2fa", Roles: app, Summary: "Whether the user has 2FA on, with which methods, and how many recovery codes are left.",
		Response: []byte(`{"type":"object","required":["enabled","methods","recovery_codes_left"],"properties":{"enabled":{"type":"boolean"},"methods":` + strs + `,"recovery_codes_left":{"type":"integer"},"pending":{"type":"boolean"}}}`)}, h.status)
	s.Route(RouteSpec{Pattern: "POST /v1/2fa/funnel", Roles: app,
		Summary: "Report 2FA prompts the platform showed and users opened (its 2fa_prompt_shown and 2fa_prompt_opened), for the education funnel; enrolments record started and confirmed themselves. No user ids: the funnel counts.",
		Request: []byte(`{"type":"object","additionalProperties":false,"required":["events"],"properties":{"events":{"type":"array","maxItems":1000,"items":{"type":"object","additionalProperties":false,"required":["stage"],"properties":{"stage":{"enum":["shown","opened"]},"region":{"type":"string"},"moment":{"type":"string"},"variant":{"type":"string"},"time":{"type":"string","format":"date-time"}}}}}}`)}, h.reportPrompts)
	s.Route(RouteSpec{Pattern: "GET /v1/2fa/funnel", Roles: admin,
		Summary: "The education funnel for [from, to) (RFC 3339 or YYYY-MM-DD; default the last 28 days): prompts shown, opened, enrolments started, confirmed, in total and by region, moment, variant and week."}, h.funnel)
	s.Route(RouteSpec{Pattern: "POST /v1/users/{user}/center", Roles: app, Status: 201,
		Summary:  "A short-lived signed link (15 minutes) to the user's safety and privacy center, a page the platform opens for its user: consent, 2FA, their reports and notices. The body is optional: {\"region\"} picks the market whose documents it shows.",
		Request:  []byte(`{"type":"object","additionalProperties":false,"properties":{"region":{"enum":["US","UK","MX","JP","FR","DE","ID","*"]}}}`),
		Response: []byte(`{"type":"object","required":["url","expires_at"],"properties":{"url":{"type":"string"},"expires_at":{"type":"string","format":"date-time"}}}`)}, h.center)
	s.Public("GET /.well-known/jwks.json", h.jwks)
}

// Public registers a route anyone may call without a key, rate-limited
// per client address like the other unauthenticated requests.
func (s *Server) Public(pattern string, h http.HandlerFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if !s.public.Allow(s.ClientAddr(r)) {
			writeError(w, warden.Errorf(warden.ERATELIMIT, "too many requests from this address; slow down"))
			return
		}
		h(w, r)
	})
}

func (h *privacyAPI) addDocument(w http.ResponseWriter, r *http.Request, p *warden.Principal) error {
	body, err := ReadBody(r, consent.MaxDocumentBody)
	if err != nil {
		return err
	}
	req, err := consent.DecodeDocument(body)
	if err != nil {
		return err
	}
	res, err := h.Consent.AddDocument(r.Context(), p, req)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusCreated, res)
}

func (h *privacyAPI) document(w http.ResponseWriter, r *http.Request, _ *warden.Principal) error {
	d, err := h.Consent.Document(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, d)
}

func (h *privacyAPI) consentStatus(w http.ResponseWriter, r *http.Request, _ *warden.Principal) error {
	if err := checkPlatformUser(r.PathValue("user")); err != nil {
		return err
	}
	st, err := h.Consent.Status(r.Context(), r.PathValue("user"), r.URL.Query().Get("region"))
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, st)
}

func (h *privacyAPI) decide(w http.ResponseWriter, r *http.Request, _ *warden.Principal) error {
	user := r.PathValue("user")
	if err := checkPlatformUser(user); err != nil {
		return err
	}
	body, err := ReadBody(r, consent.MaxDecisionBody)
	if err != nil {
		return err
	}
	req, err := consent.DecodeDecision(body)
	if err != nil {
		return err
	}
	d, err := h.Consent.Decide(r.Context(), user, req)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusCreated, d)
}

func (h *privacyAPI) jwks(w http.ResponseWriter, r *http.Request) {
	set, err := h.Consent.JWKS()
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	WriteJSON(w, http.StatusOK, set)
}

func (h *privacyAPI) beginTOTP(w http.ResponseWriter, r *http.Request, _ *warden.Principal) error {
	user := r.PathValue("user")
	if err := checkPlatformUser(user); err != nil {
		return err
	}
	body, err := ReadBody(r, mfa.MaxBody)
	if err != nil {
		return err
	}
	p, err := mfa.DecodePrompt(body)
	if err != nil {
		return err
	}
	e, err := h.MFA.Begin(r.Context(), user, p)
	if err != nil {
		return err
	}
	// The secret is in this answer once; no cache keeps it.
	w.Header().Set("Cache-Control", "no-store")
	return WriteJSON(w, http.StatusCreated, e)
}

func (h *privacyAPI) readCode(r *http.Request) (string, string, error) {
	user := r.PathValue("user")
	if err := checkPlatformUser(user); err != nil {
		return "", "", err
	}
	body, err := ReadBody(r, mfa.MaxBody)
	if err != nil {
		return "", "", err
	}
	code, err := mfa.DecodeCode(body)
	return user, code, err
}

func (h *privacyAPI) confirmTOTP(w http.ResponseWriter, r *http.Request, _ *warden.Principal) error {
	user, code, err := h.readCode(r)
	if err != nil {
		return err
	}
	codes, err := h.MFA.Confirm(r.Context(), user, code)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return WriteJSON(w, http.StatusOK, map[string]any{"recovery_codes": codes})
}

func (h *privacyAPI) verify(w http.ResponseWriter, r *http.Request, _ *warden.Principal) error {
	user, code, err := h.readCode(r)
	if err != nil {
		return err
	}
	m, err := h.MFA.Verify(r.Context(), user, code)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, map[string]any{"ok": true, "method": m})
}

func (h *privacyAPI) status(w http.ResponseWriter, r *http.Request, _ *warden.Principal) error {
	if err := checkPlatformUser(r.PathValue("user")); err != nil {
		return err
	}
	st, err := h.MFA.Status(r.Context(), r.PathValue("user"))
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, st)
}

func (h *privacyAPI) reportPrompts(w http.ResponseWriter, r *http.Request, _ *warden.Principal) error {
	body, err := ReadBody(r, mfa.MaxFunnelBody)
	if err != nil {
		return err
	}
	evs, err := mfa.DecodeFunnelEvents(body, time.Now())
	if err != nil {
		return err
	}
	if err := h.MFA.RecordPrompts(r.Context(), evs); err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, map[string]any{"recorded": len(evs)})
}

func (h *privacyAPI) funnel(w http.ResponseWriter, r *http.Request, _ *warden.Principal) error {
	q := r.URL.Query()
	to := time.Now()
	from := to.AddDate(0, 0, -28)
	var err error
	if v := q.Get("from"); v != "" {
		if from, err = parseDay(v, "from"); err != nil {
			return err
		}
	}
	if v := q.Get("to"); v != "" {
		if to, err = parseDay(v, "to"); err != nil {
			return err
		}
	}
	if !from.Before(to) {
		return warden.FieldErrorf("from", "from must be before to")
	}
	f, err := h.MFA.Funnel(r.Context(), from, to)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, f)
}

// parseDay reads an RFC 3339 time or a YYYY-MM-DD day (its start, UTC).
func parseDay(v, field string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	return time.Time{}, warden.FieldErrorf(field, "%s must be an RFC 3339 time or a YYYY-MM-DD day", field)
}

func (h *privacyAPI) center(w http.ResponseWriter, r *http.Request, _ *warden.Principal) error {
	user := r.PathValue("user")
	if err := checkPlatformUser(user); err != nil {
		return err
	}
	body, err := ReadBody(r, 4<<10)
	if err != nil {
		return err
	}
	region, err := DecodeCenterRequest(body)
	if err != nil {
		return err
	}
	origin := h.Origin
	if origin == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		origin = scheme + "://" + r.Host
	}
	if h.Center == nil {
		return warden.Errorf(warden.EUNAVAILABLE, "the safety and privacy center is not served (the console failed to load; the server log says why)")
	}
	u, exp := h.Center.Link(origin, user, region)
	w.Header().Set("Cache-Control", "no-store")
	return WriteJSON(w, http.StatusCreated, map[string]any{"url": u, "expires_at": exp.UTC().Format(time.RFC3339)})
}

// DecodeCenterRequest decodes the optional body of POST
// /v1/users/{user}/center: empty, or {"region": "JP"} to show the documents
// of a market (absent or "*": those for every region).
func DecodeCenterRequest(body []byte) (string, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return consent.AnyRegion, nil
	}
	var req struct {
		Region string `json:"region"`
	}
	if err := warden.DecodeStrict(body, &req); err != nil {
		return "", err
	}
	return consent.CheckRegion(req.Region)
}

// retryAfter is an error that says when to try again (mfa.RateLimited).
type retryAfter interface{ RetryAfterSeconds() int }

func retryAfterOf(err error) (string, bool) {
	var ra retryAfter
	if errors.As(err, &ra) {
		return strconv.Itoa(max(ra.RetryAfterSeconds(), 1)), true
	}
	return "", false
}

// checkPlatformUser refuses a {user} that is no platform account id,
// including the namespace of Warden's own console users, whose second
// factor an app key must never read or change.
func checkPlatformUser(user string) error {
	if err := warden.CheckUserID("user", user); err != nil {
		return err
	}
	if strings.HasPrefix(user, mfa.ConsoleNamespace) {
		return warden.FieldErrorf("user", "ids starting %q are Warden's console users, not the platform's", mfa.ConsoleNamespace)
	}
	return nil
}
