package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/wardenhq/warden"
)

// Schema adds a named JSON Schema to the OpenAPI document's components, for
// routes to reference as {"$ref": "#/components/schemas/NAME"}.
func (s *Server) Schema(name string, schema string) {
	s.routeMu.Lock()
	defer s.routeMu.Unlock()
	if s.schemas == nil {
		s.schemas = map[string]json.RawMessage{}
	}
	s.schemas[name] = json.RawMessage(schema)
}

// OpenAPI returns the OpenAPI 3.1 document describing every registered /v1
// call. It is built from the same RouteSpecs that route requests, so a call
// cannot exist without its description.
func (s *Server) OpenAPI() map[string]any {
	paths := map[string]map[string]any{}
	for _, rt := range s.Routes() {
		method, path, _ := strings.Cut(rt.Pattern, " ")
		method = strings.ToLower(method)
		op := map[string]any{
			"summary":     rt.Summary,
			"operationId": operationID(method, path),
			"security":    []any{map[string]any{"bearer": []any{}}},
			"x-roles":     append(append([]string{}, rt.Roles...), warden.RoleAdmin),
		}
		var params []any
		for _, seg := range strings.Split(path, "/") {
			if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
				params = append(params, map[string]any{"name": strings.Trim(seg, "{}"), "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
			}
		}
		if params != nil {
			op["parameters"] = params
		}
		if rt.Request != nil {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": rt.Request}}}
		}
		status := rt.Status
		if status == 0 {
			status = 200
		}
		ct := rt.ContentType
		if ct == "" {
			ct = "application/json"
		}
		ok := map[string]any{"description": http.StatusText(status)}
		if rt.Response != nil {
			ok["content"] = map[string]any{ct: map[string]any{"schema": rt.Response}}
		}
		errResp := map[string]any{"description": "error", "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}}
		op["responses"] = map[string]any{
			strconv.Itoa(status): ok, "400": errResp, "401": errResp, "403": errResp, "429": errResp, "500": errResp,
		}
		if paths[path] == nil {
			paths[path] = map[string]any{}
		}
		paths[path][method] = op
	}
	s.routeMu.Lock()
	schemas := map[string]any{"Error": json.RawMessage(`{"type":"object","required":["error"],"properties":{"error":{"type":"object","required":["code","message"],"properties":{"code":{"type":"string"},"message":{"type":"string"},"field":{"type":"string"}}}}}`)}
	for k, v := range s.schemas {
		schemas[k] = v
	}
	s.routeMu.Unlock()
	return map[string]any{
		"openapi": "3.1.0",
		"info":    map[string]any{"title": "Warden API", "version": warden.Version, "description": "Trust & safety: events in, verdicts out; reports, cases, appeals and transparency."},
		"paths":   paths,
		"components": map[string]any{
			"schemas":         schemas,
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer", "description": "An API key from `warden keys create --role ROLE`."}},
		},
	}
}

func (s *Server) openapi(w http.ResponseWriter, r *http.Request) {
	if !s.public.Allow(s.ClientAddr(r)) {
		writeError(w, warden.Errorf(warden.ERATELIMIT, "too many requests; slow down"))
		return
	}
	WriteJSON(w, http.StatusOK, s.OpenAPI())
}

func operationID(method, path string) string {
	var b strings.Builder
	b.WriteString(method)
	for _, seg := range strings.Split(strings.TrimPrefix(path, "/v1/"), "/") {
		seg = strings.Trim(seg, "{}")
		for _, part := range strings.Split(seg, "_") {
			if part != "" {
				b.WriteString(strings.ToUpper(part[:1]) + part[1:])
			}
		}
	}
	return b.String()
}
