package httpapi

import (
	"bytes"
	"net/http"
	"strconv"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/datarequest"
	"github.com/wardenhq/warden/ledger"
)

// Ledgers is what the calls of CONTRACT §8 this package serves need: the
// data-access ledger and data requests.
type Ledgers struct {
	Access   *ledger.Service
	Requests *datarequest.Service
}

type ledgerAPI struct{ Ledgers }

// RegisterLedgers adds the data-access ledger and data-request calls of
// CONTRACT §8.
func RegisterLedgers(s *Server, l Ledgers) {
	h := &ledgerAPI{l}
	app := []string{warden.RoleApp}
	admin := []string{warden.RoleAdmin}
	strs := `{"type":"array","items":{"type":"string"}}`
	request := `{"type":"object","required":["id","kind","status","due_at"],"properties":{"id":{"type":"string"},"user":{"type":"string"},"kind":{"enum":["access","erasure"]},"status":{"enum":["received","extended","done"]},"received_at":{"type":"string","format":"date-time"},"due_at":{"type":"string","format":"date-time"},"overdue":{"type":"boolean"},"erased":{"type":"array"}}}`
	s.Route(RouteSpec{Pattern: "POST /v1/access", Roles: app, Status: 201,
		Summary: "Record one access to a user's personal data by someone inside the platform, before it happens: an access without a purpose is refused (422), and USER_INITIATED_SUPPORT and SAFETY_REVIEW need a ticket (a Warden case id, or a platform ticket id with a prefix such as zendesk:4821). The entry is appended to the user's hash chain, durably; policy flags (a purpose not allowed for a data category, a ticket that is no open case, an actor touching unusually many users, out-of-region access) go to admins.",
		Request: []byte(`{"type":"object","additionalProperties":false,"required":["user","actor","purpose"],"properties":{"user":{"type":"string"},
"actor":{"type":"object","additionalProperties":false,"required":["class","id"],"properties":{"class":{"enum":["employee","service","vendor","legal"]},"id":{"type":"string"},"region":{"type":"string","description":"ISO 3166-1 alpha-2"}}},
"purpose":{"enum":["USER_INITIATED_SUPPORT","SAFETY_REVIEW","SERVICE_OPERATION","LEGAL_REQUEST","INCIDENT_RESPONSE","AUTOMATED_MODERATION"]},"ticket":{"type":"string"},"data_categories":` + strs + `,"time":{"type":"string","format":"date-time"},"user_region":{"type":"string"}}}`),
		Response: []byte(`{"type":"object","required":["id","seq","hash"],"properties":{"id":{"type":"string"},"seq":{"type":"integer"},"hash":{"type":"string"},"flags":` + strs + `}}`)}, h.record)
	s.Route(RouteSpec{Pattern: "GET /v1/users/{user}/access", Roles: app,
		Summary:  "The user's view of who inside the platform accessed their data in the last ?days= (1..366, default 30), newest first, each with a sentence saying why, and counts by purpose.",
		Response: []byte(`{"type":"object","required":["entries","by_purpose"],"properties":{"days":{"type":"integer"},"entries":{"type":"array","items":{"type":"object","required":["id","time","actor","purpose","why"]}},"by_purpose":{"type":"object","additionalProperties":{"type":"integer"}}}}`)}, h.userView)
	s.Route(RouteSpec{Pattern: "GET /v1/access/flags", Roles: admin,
		Summary: "Policy flags raised on accesses, newest first: ?status=open (default) or resolved."}, h.flags)
	s.Route(RouteSpec{Pattern: "POST /v1/access/flags/{id}/resolve", Roles: admin,
		Summary: "Resolve an open flag, with an optional note on what was found.",
		Request: []byte(`{"type":"object","additionalProperties":false,"properties":{"note":{"type":"string","maxLength":2000}}}`)}, h.resolve)
	s.Route(RouteSpec{Pattern: "POST /v1/users/{user}/requests", Roles: app, Status: 201,
		Summary:  "A data request from the user: access (an export of everything Warden holds on them) or erasure. Due one calendar month after it is received (GDPR Art. 12(3)).",
		Request:  []byte(`{"type":"object","additionalProperties":false,"required":["kind"],"properties":{"kind":{"enum":["access","erasure"]}}}`),
		Response: []byte(request)}, h.createRequest)
	s.Route(RouteSpec{Pattern: "GET /v1/users/{user}/requests", Roles: app,
		Summary: "The user's data requests, newest first, with their status and due date."}, h.userRequests)
	s.Route(RouteSpec{Pattern: "GET /v1/requests", Roles: admin,
		Summary: "Data requests by ?status= (open — the default —, received, extended, done or all), nearest due first, with due_at and overdue."}, h.listRequests)
	s.Route(RouteSpec{Pattern: "GET /v1/requests/{id}", Roles: app,
		Summary: "One data request: status, due date, and for a done erasure what each store erased and kept, and why.", Response: []byte(request)}, h.getRequest)
	s.Route(RouteSpec{Pattern: "POST /v1/requests/{id}/extend", Roles: admin,
		Summary: "Extend an open request by two months (GDPR Art. 12(3)): once, and only inside the first month; the user is sent a notice with the reason.",
		Request: []byte(`{"type":"object","additionalProperties":false,"required":["reason"],"properties":{"reason":{"type":"string","maxLength":2000}}}`), Response: []byte(request)}, h.extend)
	s.Route(RouteSpec{Pattern: "POST /v1/requests/{id}/fulfil", Roles: admin,
		Summary:  "Answer a request: an access request by building its export from the store (GET …/export serves it from then on), an erasure by deleting or pseudonymising the user's data in every store, except what a legal hold keeps; the answer says what was kept and why.",
		Response: []byte(request)}, h.fulfil)
	s.Route(RouteSpec{Pattern: "GET /v1/requests/{id}/export", Roles: app,
		Summary: "For a done access request: one JSON document with everything Warden holds on the user (events with verdicts, reports, notices, decisions, consent receipts, 2FA state without secrets, access-ledger entries, permission records), built from the store at each call; ?format=html gives the same as a readable page."}, h.export)
}

func (h *ledgerAPI) record(w http.ResponseWriter, r *http.Request, _ *warden.Principal) error {
	body, err := ReadBody(r, ledger.MaxBody)
	if err != nil {
		return err
	}
	a, err := ledger.DecodeAccess(body, time.Now())
	if err != nil {
		return err
	}
	rec, err := h.Access.Record(r.Context(), a)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusCreated, rec)
}

func (h *ledgerAPI) userView(w http.ResponseWriter, r *http.Request, _ *warden.Principal) error {
	user := r.PathValue("user")
	if err := checkPlatformUser(user); err != nil {
		return err
	}
	days := 30
	if s := r.URL.Query().Get("days"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return warden.FieldErrorf("days", "days must be a whole number of days, 1..%d", ledger.MaxDays)
		}
		days = n
	}
	v, err := h.Access.UserView(r.Context(), user, days)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, v)
}

func (h *ledgerAPI) flags(w http.ResponseWriter, r *http.Request, _ *warden.Principal) error {
	resolved := false
	switch r.URL.Query().Get("status") {
	case "", "open":
	case "resolved":
		resolved = true
	default:
		return warden.FieldErrorf("status", "status must be open or resolved")
	}
	fs, err := h.Access.Flags(r.Context(), resolved, 1000)
	if err != nil {
		return err
	}
	type flag struct {
		ID         string     `json:"id"`
		EntryID    string     `json:"entry_id"`
		User       string     `json:"user"`
		Actor      any        `json:"actor"`
		Kind       string     `json:"kind"`
		Detail     string     `json:"detail"`
		RaisedAt   time.Time  `json:"raised_at"`
		ResolvedAt *time.Time `json:"resolved_at,omitempty"`
		ResolvedBy string     `json:"resolved_by,omitempty"`
		Note       string     `json:"note,omitempty"`
	}
	out := make([]flag, len(fs))
	for i, f := range fs {
		out[i] = flag{ID: f.ID, EntryID: f.EntryID, User: f.UserID, Actor: ledger.Actor{Class: f.ActorClass, ID: f.ActorID}, Kind: f.Kind, Detail: f.Detail,
			RaisedAt: time.UnixMicro(f.RaisedUS).UTC(), ResolvedBy: f.ResolvedBy, Note: f.Note}
		if f.ResolvedUS != 0 {
			t := time.UnixMicro(f.ResolvedUS).UTC()
			out[i].ResolvedAt = &t
		}
	}
	return WriteJSON(w, http.StatusOK, map[string]any{"flags": out})
}

func (h *ledgerAPI) resolve(w http.ResponseWriter, r *http.Request, p *warden.Principal) error {
	body, err := ReadBody(r, 8<<10)
	if err != nil {
		return err
	}
	var b struct {
		Note string `json:"note"`
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := warden.DecodeStrict(body, &b); err != nil {
			return err
		}
	}
	if err := h.Access.Resolve(r.Context(), r.PathValue("id"), p.Name, b.Note); err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, map[string]any{"id": r.PathValue("id"), "resolved": true})
}

func (h *ledgerAPI) createRequest(w http.ResponseWriter, r *http.Request, _ *warden.Principal) error {
	user := r.PathValue("user")
	if err := checkPlatformUser(user); err != nil {
		return err
	}
	body, err := ReadBody(r, 4<<10)
	if err != nil {
		return err
	}
	kind, err := datarequest.DecodeKind(body)
	if err != nil {
		return err
	}
	req, err := h.Requests.Create(r.Context(), user, kind)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusCreated, req)
}

func (h *ledgerAPI) userRequests(w http.ResponseWriter, r *http.Request, _ *warden.Principal) error {
	user := r.PathValue("user")
	if err := checkPlatformUser(user); err != nil {
		return err
	}
	rs, err := h.Requests.UserRequests(r.Context(), user)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, map[string]any{"requests": rs})
}

func (h *ledgerAPI) listRequests(w http.ResponseWriter, r *http.Request, _ *warden.Principal) error {
	rs, err := h.Requests.List(r.Context(), r.URL.Query().Get("status"))
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, map[string]any{"requests": rs})
}

func (h *ledgerAPI) getRequest(w http.ResponseWriter, r *http.Request, _ *warden.Principal) error {
	req, err := h.Requests.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, req)
}

func (h *ledgerAPI) extend(w http.ResponseWriter, r *http.Request, _ *warden.Principal) error {
	body, err := ReadBody(r, 8<<10)
	if err != nil {
		return err
	}
	reason, err := datarequest.DecodeReason(body)
	if err != nil {
		return err
	}
	req, err := h.Requests.Extend(r.Context(), r.PathValue("id"), reason)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, req)
}

func (h *ledgerAPI) fulfil(w http.ResponseWriter, r *http.Request, p *warden.Principal) error {
	req, err := h.Requests.Fulfil(r.Context(), r.PathValue("id"), p.Name)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, req)
}

func (h *ledgerAPI) export(w http.ResponseWriter, r *http.Request, _ *warden.Principal) error {
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "html" {
		return warden.FieldErrorf("format", "format must be json or html")
	}
	doc, err := h.Requests.Export(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	if format == "html" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		return datarequest.WriteHTML(w, doc)
	}
	return WriteJSON(w, http.StatusOK, doc)
}
