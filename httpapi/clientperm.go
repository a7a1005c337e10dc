package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/clientperm"
)

type clientPermAPI struct{ svc *clientperm.Service }

// RegisterClientPermissions adds the sensitive-permission ledger's calls of
// CONTRACT §8: the admins' manifest per app version and report, the app's
// batches of records, and the user's view of what their app read.
func RegisterClientPermissions(s *Server, svc *clientperm.Service) {
	h := &clientPermAPI{svc}
	app := []string{warden.RoleApp}
	admin := []string{warden.RoleAdmin}
	perm := `{"enum":["clipboard.read","contacts.read","location","camera","microphone","photos"]}`
	s.Route(RouteSpec{Pattern: "PUT /v1/client/manifest", Roles: admin,
		Summary: "Declare, for one app version, which feature may use which sensitive permission and with which trigger (user_gesture: only right after a user gesture; any). Replaces the version's manifest. Strict: an unknown field, permission or trigger is 422 naming it, and nothing is stored.",
		Request: []byte(`{"type":"object","additionalProperties":false,"required":["app_version","features"],"properties":{"app_version":{"type":"string","maxLength":128},
"features":{"type":"array","items":{"type":"object","additionalProperties":false,"required":["feature","permissions"],"properties":{"feature":{"type":"string","maxLength":128},
"permissions":{"type":"array","minItems":1,"items":{"type":"object","additionalProperties":false,"required":["permission","trigger"],"properties":{"permission":` + perm + `,"trigger":{"enum":["user_gesture","any"]}}}}}}}}}`)},
		h.putManifest)
	s.Route(RouteSpec{Pattern: "POST /v1/client/permissions", Roles: app,
		Summary: "Record the client's sensitive reads, never their content: at most 10,000 records a batch (413 past it), stored in one transaction, all or nothing. Users are kept pseudonymised. Records of an app version without a manifest, or of a use its manifest does not declare, are kept and counted as undeclared.",
		Request: []byte(`{"type":"object","additionalProperties":false,"required":["records"],"properties":{"records":{"type":"array","maxItems":10000,"items":{"type":"object","additionalProperties":false,
"required":["user","app_version","permission","feature","trigger","foreground","count","time"],"properties":{"user":{"type":"string"},"app_version":{"type":"string"},"permission":` + perm + `,"feature":{"type":"string"},
"trigger":{"enum":["user_gesture","programmatic"]},"foreground":{"type":"boolean"},"count":{"type":"integer","minimum":1,"maximum":1000000},"time":{"type":"string","format":"date-time"}}}}}}`),
		Response: []byte(`{"type":"object","required":["accepted","undeclared"],"properties":{"accepted":{"type":"integer"},"undeclared":{"type":"integer"}}}`)},
		h.record)
	s.Route(RouteSpec{Pattern: "GET /v1/client/report", Roles: admin,
		Summary: "The app version's (?app_version=) sensitive reads of the last ?days= (default 90) checked against its manifest: flags for reads without a gesture where one is required (no_gesture), background reads, undeclared uses and rate anomalies (docs/client-permissions.md), and the declared uses not seen in the window (inactive: code to clean out), each with when it was last used (null: never).",
		Response: []byte(`{"type":"object","required":["flags","inactive"],"properties":{"flags":{"type":"array","items":{"type":"object","required":["kind","permission","feature","count"],"properties":{"kind":{"enum":["no_gesture","background","undeclared","rate"]},"permission":{"type":"string"},"feature":{"type":"string"},"count":{"type":"integer"},"users":{"type":"integer"},"reason":{"type":"string"}}}},
"inactive":{"type":"array","items":{"type":"object","required":["feature","permission","last_used"],"properties":{"feature":{"type":"string"},"permission":{"type":"string"},"trigger":{"type":"string"},"last_used":{"type":["string","null"],"format":"date-time"}}}}}}`)},
		h.report)
	s.Route(RouteSpec{Pattern: "GET /v1/users/{user}/permissions", Roles: app,
		Summary: "The user's view of the sensitive reads their app made on their device in the last ?days= (default 7), by permission and feature, in words a user reads.",
		Response: []byte(`{"type":"object","required":["user","days","total","summary","permissions"],"properties":{"user":{"type":"string"},"days":{"type":"integer"},"total":{"type":"integer"},"summary":{"type":"string"},
"permissions":{"type":"array","items":{"type":"object","required":["permission","label","total","features"],"properties":{"permission":{"type":"string"},"label":{"type":"string"},"total":{"type":"integer"},"features":{"type":"array","items":{"type":"object","required":["feature","count","words"],"properties":{"feature":{"type":"string"},"count":{"type":"integer"},"words":{"type":"string"}}}}}}}}}`)},
		h.user)
}

func (h *clientPermAPI) putManifest(w http.ResponseWriter, r *http.Request, p *warden.Principal) error {
	body, err := ReadBody(r, clientperm.MaxManifestBody)
	if err != nil {
		return err
	}
	m, err := clientperm.DecodeManifest(body)
	if err != nil {
		return err
	}
	m, err = h.svc.PutManifest(r.Context(), p, m)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, m)
}

func (h *clientPermAPI) record(w http.ResponseWriter, r *http.Request, _ *warden.Principal) error {
	body, err := ReadBody(r, clientperm.MaxRecordsBody)
	if err != nil {
		return err
	}
	recs, err := clientperm.DecodeRecords(body, time.Now())
	if err != nil {
		return err
	}
	a, err := h.svc.Record(r.Context(), recs)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, a)
}

// queryDays reads ?days=, def when absent.
func queryDays(r *http.Request, def int) (int, error) {
	v := r.URL.Query().Get("days")
	if v == "" {
		return def, nil
	}
	d, err := strconv.Atoi(v)
	if err != nil {
		return 0, warden.FieldErrorf("days", "days must be a whole number of days from 1 to %d", clientperm.MaxDays)
	}
	return d, clientperm.CheckDays("days", d)
}

func (h *clientPermAPI) report(w http.ResponseWriter, r *http.Request, _ *warden.Principal) error {
	days, err := queryDays(r, 90)
	if err != nil {
		return err
	}
	rep, err := h.svc.Report(r.Context(), r.URL.Query().Get("app_version"), days)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, rep)
}

func (h *clientPermAPI) user(w http.ResponseWriter, r *http.Request, _ *warden.Principal) error {
	user := r.PathValue("user")
	if err := checkPlatformUser(user); err != nil {
		return err
	}
	days, err := queryDays(r, 7)
	if err != nil {
		return err
	}
	v, err := h.svc.User(r.Context(), user, days)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, v)
}
