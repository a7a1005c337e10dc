package httpapi

import (
	"net/http"

	"github.com/wardenhq/warden"
)

func (s *Server) routeKeys() {
	keySchema := `{"type":"object","properties":{"id":{"type":"string"},"name":{"type":"string"},"role":` + roleEnum + `,"revoked":{"type":"boolean"}}}`
	s.Route(RouteSpec{Pattern: "GET /v1/keys", Roles: []string{warden.RoleAdmin}, Summary: "List API keys (never their secrets).",
		Response: []byte(`{"type":"object","properties":{"keys":{"type":"array","items":` + keySchema + `}}}`)}, s.listKeys)
	s.Route(RouteSpec{Pattern: "POST /v1/keys", Roles: []string{warden.RoleAdmin}, Status: 201, Summary: "Create an API key; the secret is in this response only.",
		Request:  []byte(`{"type":"object","additionalProperties":false,"required":["role"],"properties":{"role":` + roleEnum + `,"name":{"type":"string","maxLength":100}}}`),
		Response: []byte(`{"type":"object","properties":{"id":{"type":"string"},"name":{"type":"string"},"role":{"type":"string"},"key":{"type":"string"}}}`)}, s.createKey)
	s.Route(RouteSpec{Pattern: "DELETE /v1/keys/{id}", Roles: []string{warden.RoleAdmin}, Summary: "Revoke an API key: this server refuses it at once, other servers sharing the store within 30 seconds. The last live admin key cannot be revoked (409): create another first.",
		Response: []byte(`{"type":"object","properties":{"id":{"type":"string"},"revoked":{"type":"boolean"}}}`)}, s.revokeKey)
}

type keyView struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Role    string `json:"role"`
	Revoked bool   `json:"revoked"`
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request, _ *warden.Principal) error {
	ks, err := s.opt.DB.ListKeys(r.Context())
	if err != nil {
		return err
	}
	out := make([]keyView, len(ks))
	for i, k := range ks {
		out[i] = keyView{ID: k.ID, Name: k.Name, Role: k.Role, Revoked: k.RevokedUS != nil}
	}
	return WriteJSON(w, http.StatusOK, map[string]any{"keys": out})
}

func (s *Server) createKey(w http.ResponseWriter, r *http.Request, p *warden.Principal) error {
	var req struct {
		Role string `json:"role"`
		Name string `json:"name"`
	}
	if err := DecodeJSON(r, 4096, &req); err != nil {
		return err
	}
	if len(req.Name) > 100 {
		return warden.FieldErrorf("name", "a key name is at most 100 characters")
	}
	secret, k, err := s.opt.DB.CreateKey(r.Context(), req.Role, req.Name)
	if err != nil {
		return err
	}
	s.opt.Logger.Info("api key created", "id", k.ID, "role", k.Role, "by", p.ID)
	return WriteJSON(w, http.StatusCreated, map[string]any{"id": k.ID, "name": k.Name, "role": k.Role, "key": secret})
}

func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request, p *warden.Principal) error {
	id := r.PathValue("id")
	ks, err := s.opt.DB.ListKeys(r.Context())
	if err != nil {
		return err
	}
	admins, target := 0, false
	for _, k := range ks {
		if k.RevokedUS == nil && k.Role == warden.RoleAdmin {
			admins++
			target = target || k.ID == id
		}
	}
	if target && admins == 1 {
		return warden.Errorf(warden.ECONFLICT, "key %s is the last live admin key; create another admin key before revoking it", id)
	}
	if err := s.opt.DB.RevokeKey(r.Context(), id); err != nil {
		return err
	}
	s.keys.forget(id)
	s.opt.Logger.Info("api key revoked", "id", id, "by", p.ID)
	return WriteJSON(w, http.StatusOK, map[string]any{"id": id, "revoked": true})
}
