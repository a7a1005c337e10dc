package warden

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"
)

// wireEvent is an Event as it arrives: time as a string so that a bad time
// is reported with its field name rather than as a parse error.
type wireEvent struct {
	ID         string         `json:"id"`
	Type       string         `json:"type"`
	Time       string         `json:"time"`
	Actor      string         `json:"actor"`
	Target     string         `json:"target"`
	TargetKind string         `json:"target_kind"`
	IP         string         `json:"ip"`
	Device     string         `json:"device"`
	Country    string         `json:"country"`
	Text       string         `json:"text"`
	Attrs      map[string]any `json:"attrs"`
}

// DecodeEvents decodes a request body that is either one event or
// {"events": [...]} (CONTRACT §3), strictly: unknown fields, wrong types,
// trailing data, bad times, addresses and country codes are errors. All events
// are validated and normalised; on any error none is returned. The error is an
// *Error whose Field names the offending input, such as "events[3].time".
func DecodeEvents(body []byte) (events []Event, batch bool, err error) {
	if len(body) > MaxBodyBytes {
		return nil, false, &Error{Code: ETOOLARGE, Message: fmt.Sprintf("the body is %d bytes; the limit is %d (16 MiB): send smaller batches", len(body), MaxBodyBytes)}
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, false, Errorf(EINVALID, "the body is empty: send one event or {\"events\": [...]}")
	}
	if err := checkText(body); err != nil {
		return nil, false, err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, false, Errorf(EINVALID, "the body must be a JSON object: one event or {\"events\": [...]}")
	}
	if !dec.More() {
		return nil, false, FieldErrorf("id", "id is required: a unique string per event, used as the idempotency key")
	}
	key, err := dec.Token()
	if err != nil {
		return nil, false, jsonError("", err, eventFieldsHint)
	}
	if key != "events" {
		e, err := decodeOne(body, "")
		if err != nil {
			return nil, false, err
		}
		return []Event{e}, false, nil
	}
	events, err = decodeBatch(dec)
	return events, true, err
}

func decodeBatch(dec *json.Decoder) ([]Event, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonError("events", err, eventFieldsHint)
	}
	if tok != json.Delim('[') {
		return nil, FieldErrorf("events", "events must be an array of events")
	}
	dec.DisallowUnknownFields()
	var events []Event
	for i := 0; dec.More(); i++ {
		prefix := fmt.Sprintf("events[%d].", i)
		if i >= MaxBatchEvents {
			return nil, &Error{Code: ETOOLARGE, Field: "events", Message: fmt.Sprintf("a batch holds at most %d events: split it", MaxBatchEvents)}
		}
		var w wireEvent
		if err := dec.Decode(&w); err != nil {
			return nil, jsonError(prefix, err, eventFieldsHint)
		}
		e, err := w.event(prefix)
		if err != nil {
			return nil, err
		}
		events = append(events, e)
	}
	if _, err := dec.Token(); err != nil { // ]
		return nil, jsonError("events", err, eventFieldsHint)
	}
	if dec.More() {
		k, _ := dec.Token()
		return nil, FieldErrorf(fmt.Sprint(k), "a batch has only the field \"events\"; %v is not allowed beside it", k)
	}
	if _, err := dec.Token(); err != nil { // }
		return nil, jsonError("", err, eventFieldsHint)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, Errorf(EINVALID, "unexpected data after the JSON object")
	}
	if len(events) == 0 {
		return nil, FieldErrorf("events", "events is empty: send at least one event")
	}
	return events, nil
}

func decodeOne(body []byte, prefix string) (Event, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var w wireEvent
	if err := dec.Decode(&w); err != nil {
		return Event{}, jsonError(prefix, err, eventFieldsHint)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Event{}, Errorf(EINVALID, "unexpected data after the JSON object")
	}
	return w.event(prefix)
}

// DecodeEvent decodes exactly one event, strictly. Replay and import use it
// for each line of a JSON Lines file.
func DecodeEvent(line []byte) (Event, error) {
	return decodeOne(line, "")
}

func (w *wireEvent) event(prefix string) (Event, error) {
	e := Event{ID: w.ID, Type: w.Type, Actor: w.Actor, Target: w.Target, TargetKind: w.TargetKind,
		IP: w.IP, Device: w.Device, Country: w.Country, Text: w.Text, Attrs: w.Attrs}
	if len(e.Attrs) == 0 {
		e.Attrs = nil // "attrs": {} is no attrs: stored and exported without it
	}
	if w.Time != "" {
		t, err := time.Parse(time.RFC3339Nano, w.Time)
		if err != nil {
			return Event{}, FieldErrorf(prefix+"time", "time %q is not RFC 3339, for example 2026-01-02T15:04:05Z", clip(w.Time))
		}
		if y := t.UTC().Year(); y < 1970 || y > 9999 {
			return Event{}, FieldErrorf(prefix+"time", "time %q is out of range: the year must be 1970 or later", clip(w.Time))
		}
		e.Time = t
	}
	if err := e.Validate(prefix); err != nil {
		return Event{}, err
	}
	return e, nil
}

const eventFieldsHint = ": events have id, type, time, actor, target, target_kind, ip, device, country, text and attrs (put anything else in attrs)"

// jsonError turns an encoding/json error into an *Error that names the field.
func jsonError(prefix string, err error, hint string) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		field := prefix + te.Field
		return FieldErrorf(strings.TrimSuffix(field, "."), "%s must be %s, not a JSON %s", strings.TrimSuffix(field, "."), jsonKind(te.Type.String()), te.Value)
	case errors.As(err, &se):
		return &Error{Code: EINVALID, Field: strings.TrimSuffix(prefix, "."), Message: fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, se)}
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return &Error{Code: EINVALID, Field: strings.TrimSuffix(prefix, "."), Message: "the JSON ends too early"}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return FieldErrorf(prefix+name, "unknown field %q%s", name, hint)
	}
	return &Error{Code: EINVALID, Field: strings.TrimSuffix(prefix, "."), Message: "malformed JSON: " + err.Error()}
}

func jsonKind(goType string) string {
	switch {
	case goType == "string":
		return "a string"
	case strings.HasPrefix(goType, "map["):
		return "an object"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	}
	return goType
}

// DecodeStrict decodes one JSON value from body into v: unknown fields,
// wrong types and trailing data are *Error values that name the field.
func DecodeStrict(body []byte, v any) error {
	if err := checkText(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return Errorf(EINVALID, "the body is empty: send a JSON object")
		}
		return jsonError("", err, "")
	}
	if _, err := dec.Token(); err != io.EOF {
		return Errorf(EINVALID, "unexpected data after the JSON object")
	}
	return nil
}

// checkText refuses JSON text that encoding/json would quietly change:
// invalid UTF-8 and lone surrogate escapes (rewritten to U+FFFD, so two
// different ids became one) and duplicate object keys (the last silently
// won); and numbers out of float64's range, which it reports without the
// key they are under. encoding/json/v2's jsontext checks both by default and says where;
// other syntax errors are left to the decoder that follows, whose messages
// name the expected type.
func checkText(body []byte) error {
	dec := jsontext.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.ReadToken()
		if err == nil {
			if tok.Kind() == '0' {
				if _, perr := strconv.ParseFloat(tok.String(), 64); perr != nil {
					field := pointerField(dec.StackPointer())
					return FieldErrorf(field, "%s is the number %s, out of range: numbers are at most ±1.8e308", field, clip(tok.String()))
				}
			}
			if tok.Kind() == '"' {
				if err := checkKeyCase(dec, tok.String()); err != nil {
					return err
				}
			}
			continue
		}
		var se *jsontext.SyntacticError
		if !errors.As(err, &se) {
			return nil
		}
		field := pointerField(se.JSONPointer)
		switch msg := se.Err.Error(); {
		case se.Err == jsontext.ErrDuplicateName:
			return FieldErrorf(field, "%s appears twice in one object: send each key once", field)
		case strings.Contains(msg, "UTF-8") || strings.Contains(msg, "surrogate"):
			return FieldErrorf(field, "%s is not valid UTF-8 text (an invalid byte or a lone \\uD800-\\uDFFF escape)", field)
		}
		return nil
	}
}

// wireKeys are the names of an event's fields and of the batch's one
// field, as the contract spells them.
var wireKeys = []string{"id", "type", "time", "actor", "target", "target_kind", "ip", "device", "country", "text", "attrs", "events"}

// checkKeyCase refuses an event's field name that differs from the
// contract's only in case ("tYpe"): encoding/json would match it
// case-insensitively and take it as "type". Names inside attrs are the
// platform's own and are left alone.
func checkKeyCase(dec *jsontext.Decoder, name string) error {
	depth := dec.StackDepth()
	if k, n := dec.StackIndex(depth); k != '{' || n%2 != 1 {
		return nil // a string value, not a name
	}
	if depth != 1 && (depth != 3 || !strings.HasPrefix(string(dec.StackPointer()), "/events/")) {
		return nil
	}
	for _, k := range wireKeys {
		if k != name && strings.EqualFold(k, name) {
			field := pointerField(dec.StackPointer())
			return FieldErrorf(field, "field names are case-sensitive: write %q, not %q", k, clip(name))
		}
	}
	return nil
}

// pointerField writes a JSON pointer as a field path: /events/3/id is
// events[3].id.
func pointerField(p jsontext.Pointer) string {
	var b strings.Builder
	for tok := range p.Tokens() {
		if tok != "" && strings.Trim(tok, "0123456789") == "" {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}
