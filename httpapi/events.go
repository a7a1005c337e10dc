package httpapi

import (
	"bytes"
	"net/http"

	"github.com/wardenhq/warden"
)

func (s *Server) routeEvents() {
	s.Schema("Event", eventSchema)
	s.Schema("Verdict", verdictSchema)
	s.Route(RouteSpec{
		Pattern:  "POST /v1/events",
		Roles:    []string{warden.RoleApp},
		Summary:  "Send one event, or {\"events\": [...]} (at most 10,000 events, 16 MiB); get a verdict for each, in request order. A repeated event id returns its first verdict and is not counted again. The 200 comes only once every event is in the durable log.",
		Request:  []byte(`{"oneOf":[{"$ref":"#/components/schemas/Event"},{"type":"object","additionalProperties":false,"required":["events"],"properties":{"events":{"type":"array","minItems":1,"maxItems":10000,"items":{"$ref":"#/components/schemas/Event"}}}}]}`),
		Response: []byte(`{"type":"object","required":["verdicts"],"properties":{"verdicts":{"type":"array","items":{"$ref":"#/components/schemas/Verdict"}}}}`),
	}, s.postEvents)
}

func (s *Server) postEvents(w http.ResponseWriter, r *http.Request, _ *warden.Principal) error {
	if s.opt.Ingest == nil {
		return warden.Errorf(warden.EUNAVAILABLE, "event intake is not running")
	}
	body, err := ReadBody(r, warden.MaxBodyBytes)
	if err != nil {
		return err
	}
	evs, _, err := warden.DecodeEvents(body)
	if err != nil {
		return err
	}
	verdicts, err := s.opt.Ingest.Ingest(r.Context(), evs)
	if err != nil {
		return err
	}
	size := 16
	for _, v := range verdicts {
		size += len(v) + 1
	}
	var buf bytes.Buffer
	buf.Grow(size)
	buf.WriteString(`{"verdicts":[`)
	for i, v := range verdicts {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(v)
	}
	buf.WriteString("]}\n")
	w.Header().Set("Content-Type", "application/json")
	_, err = w.Write(buf.Bytes())
	return err
}

const eventSchema = `{"type":"object","additionalProperties":false,"required":["id","type","time","actor"],"properties":{
"id":{"type":"string","minLength":1,"maxLength":128,"description":"unique per event; the idempotency key"},
"type":{"type":"string","minLength":1,"maxLength":64,"description":"open set; well known: signup, login, login_failed, follow, unfollow, like, comment, post, share, message, view, profile_update, password_reset"},
"time":{"type":"string","format":"date-time","description":"event time (RFC 3339): when it happened"},
"actor":{"type":"string","minLength":1,"maxLength":256},
"target":{"type":"string","maxLength":256},
"target_kind":{"enum":["account","content"]},
"ip":{"type":"string","description":"IPv4 or IPv6 address"},
"device":{"type":"string","maxLength":256},
"country":{"type":"string","pattern":"^[A-Za-z]{2}$","description":"ISO 3166-1 alpha-2"},
"text":{"type":"string","maxLength":65536},
"attrs":{"type":"object","maxProperties":64,"additionalProperties":{"type":["string","number","boolean"]}}}}`

var verdictSchema = `{"type":"object","required":["event_id","action","score","hits"],"properties":{
"event_id":{"type":"string"},
"action":` + actionEnum + `,
"score":{"type":"number","minimum":0,"maximum":1},
"hits":{"type":"array","items":{"type":"object","required":["rule","version","action","mode","reason"],"properties":{
"rule":{"type":"string"},"version":{"type":"integer"},"action":` + actionEnum + `,
"mode":{"type":"string"},"reason":{"type":"string"},
"partners":{"type":"array","items":{"type":"string"},"description":"the partner platforms whose imported lists the rule found the event's values on"}}}}}}`
