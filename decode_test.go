package warden_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/wardenhq/warden"
)

func TestDecodeEventsAccepts(t *testing.T) {
	when := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		body  string
		batch bool
		want  []warden.Event
	}{
		{"minimal event", `{"id":"e1","type":"signup","time":"2026-11-22T10:00:00Z","actor":"u1"}`, false,
			[]warden.Event{{ID: "e1", Type: "signup", Time: when, Actor: "u1"}}},
		{"every field, normalised", `{"id":"e1","type":"follow","time":"2026-11-22T11:00:00+01:00","actor":"u1","target":"u2","target_kind":"account",
			"ip":"::ffff:10.0.0.1","device":"d1","country":"jp","text":"hi","attrs":{"email":"a@b.c","age_days":3,"verified":false}}`, false,
			[]warden.Event{{ID: "e1", Type: "follow", Time: when, Actor: "u1", Target: "u2", TargetKind: "account", IP: "10.0.0.1",
				Device: "d1", Country: "JP", Text: "hi", Attrs: map[string]any{"email": "a@b.c", "age_days": 3.0, "verified": false}}}},
		{"ipv6 address", `{"id":"e1","type":"login","time":"2026-11-22T10:00:00Z","actor":"u1","ip":"2001:DB8::1"}`, false,
			[]warden.Event{{ID: "e1", Type: "login", Time: when, Actor: "u1", IP: "2001:db8::1"}}},
		{"batch of two", `{"events":[{"id":"a","type":"like","time":"2026-11-22T10:00:00Z","actor":"u1"},{"id":"b","type":"like","time":"2026-11-22T10:00:00Z","actor":"u2"}]}`, true,
			[]warden.Event{{ID: "a", Type: "like", Time: when, Actor: "u1"}, {ID: "b", Type: "like", Time: when, Actor: "u2"}}},
		{"surrounding whitespace", " \n{\"id\":\"e1\",\"type\":\"signup\",\"time\":\"2026-11-22T10:00:00Z\",\"actor\":\"u1\"}\n", false,
			[]warden.Event{{ID: "e1", Type: "signup", Time: when, Actor: "u1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, batch, err := warden.DecodeEvents([]byte(tt.body))
			if err != nil {
				t.Fatalf("DecodeEvents: %v", err)
			}
			if batch != tt.batch {
				t.Errorf("batch = %v, want %v", batch, tt.batch)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeEventsRejects(t *testing.T) {
	ok := `"id":"e1","type":"signup","time":"2026-11-22T10:00:00Z","actor":"u1"`
	tests := []struct {
		name, body, code, field, msg string
	}{
		{"empty body", ``, warden.EINVALID, "", "empty"},
		{"not an object", `[1,2]`, warden.EINVALID, "", "JSON object"},
		{"malformed JSON", `{"id":"e1",`, warden.EINVALID, "", "JSON"},
		{"unknown field", `{` + ok + `,"colour":"red"}`, warden.EINVALID, "colour", "unknown field"},
		{"wrong type", `{"id":5,"type":"signup","time":"2026-11-22T10:00:00Z","actor":"u1"}`, warden.EINVALID, "id", "must be a string"},
		{"missing id", `{"type":"signup","time":"2026-11-22T10:00:00Z","actor":"u1"}`, warden.EINVALID, "id", "required"},
		{"missing actor", `{"id":"e1","type":"signup","time":"2026-11-22T10:00:00Z"}`, warden.EINVALID, "actor", "required"},
		{"missing time", `{"id":"e1","type":"signup","actor":"u1"}`, warden.EINVALID, "time", "required"},
		{"bad time", `{"id":"e1","type":"signup","time":"yesterday","actor":"u1"}`, warden.EINVALID, "time", "RFC 3339"},
		{"bad ip", `{` + ok + `,"ip":"999.1.1.1"}`, warden.EINVALID, "ip", "not an IPv4 or IPv6"},
		{"bad country", `{` + ok + `,"country":"USA"}`, warden.EINVALID, "country", "alpha-2"},
		{"unassigned country", `{` + ok + `,"country":"ZZ"}`, warden.EINVALID, "country", "alpha-2"},
		{"bad target kind", `{` + ok + `,"target":"x","target_kind":"user"}`, warden.EINVALID, "target_kind", "account"},
		{"nested attr", `{` + ok + `,"attrs":{"a":{"b":1}}}`, warden.EINVALID, "attrs.a", "string, number or bool"},
		{"null attr", `{` + ok + `,"attrs":{"a":null}}`, warden.EINVALID, "attrs.a", "string, number or bool"},
		// encoding/json matches names case-insensitively (issue 10).
		{"name in another case", `{"id":"e1","tYpe":"signup","time":"2026-11-22T10:00:00Z","actor":"u1"}`, warden.EINVALID, "tYpe", "case-sensitive"},
		{"name in another case in a batch", `{"events":[{"id":"e1","type":"signup","time":"2026-11-22T10:00:00Z","Actor":"u1"}]}`, warden.EINVALID, "events[0].Actor", "case-sensitive"},
		{"batch key in another case", `{"Events":[{` + ok + `}]}`, warden.EINVALID, "Events", "case-sensitive"},
		// Text encoding/json would have changed silently (issue 10).
		{"invalid UTF-8 id", "{\"id\":\"utfq-\xff\",\"type\":\"like\",\"time\":\"2026-11-22T10:00:00Z\",\"actor\":\"alice\"}", warden.EINVALID, "id", "UTF-8"},
		{"invalid UTF-8 in a batch", "{\"events\":[{" + ok + "},{\"id\":\"e2\",\"type\":\"like\",\"time\":\"2026-11-22T10:00:00Z\",\"actor\":\"b\xfeb\"}]}", warden.EINVALID, "events[1].actor", "UTF-8"},
		{"lone surrogate", `{"id":"e\ud800","type":"like","time":"2026-11-22T10:00:00Z","actor":"u1"}`, warden.EINVALID, "id", "UTF-8"},
		{"invalid UTF-8 attr", "{" + ok + ",\"attrs\":{\"n\":\"\xc3\"}}", warden.EINVALID, "attrs.n", "UTF-8"},
		{"duplicate key", `{"id":"k1","id":"k2","type":"like","time":"2026-11-22T10:00:00Z","actor":"u1"}`, warden.EINVALID, "id", "twice"},
		{"duplicate key in a batch", `{"events":[{` + ok + `,"actor":"u2"}]}`, warden.EINVALID, "events[0].actor", "twice"},
		{"NUL in id", `{"id":"a\u0000b","type":"like","time":"2026-11-22T10:00:00Z","actor":"u1"}`, warden.EINVALID, "id", "NUL"},
		{"NUL in actor", `{"id":"e1","type":"like","time":"2026-11-22T10:00:00Z","actor":"u\u0000"}`, warden.EINVALID, "actor", "NUL"},
		{"number out of range", `{` + ok + `,"attrs":{"n":1e400}}`, warden.EINVALID, "attrs.n", "out of range"},
		{"year 0000", `{"id":"e1","type":"like","time":"0000-01-01T00:00:00Z","actor":"u1"}`, warden.EINVALID, "time", "out of range"},
		{"id too long", `{"id":"` + strings.Repeat("x", 129) + `","type":"signup","time":"2026-11-22T10:00:00Z","actor":"u1"}`, warden.EINVALID, "id", "limit"},
		{"text too long", `{` + ok + `,"text":"` + strings.Repeat("x", 64<<10+1) + `"}`, warden.EINVALID, "text", "limit"},
		{"trailing data", `{` + ok + `} {}`, warden.EINVALID, "", "after"},
		{"bad event in batch", `{"events":[{` + ok + `},{"id":"e2","type":"x","time":"2026-11-22T10:00:00Z","actor":""}]}`, warden.EINVALID, "events[1].actor", "required"},
		{"unknown field in batch", `{"events":[{` + ok + `,"x":1}]}`, warden.EINVALID, "events[0].x", "unknown field"},
		{"field beside events", `{"events":[{` + ok + `}],"id":"e1"}`, warden.EINVALID, "id", "only the field"},
		{"empty batch", `{"events":[]}`, warden.EINVALID, "events", "empty"},
		{"events not an array", `{"events":{}}`, warden.EINVALID, "events", "array"},
		{"events key after event fields", `{` + ok + `,"events":[]}`, warden.EINVALID, "events", "unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, _, err := warden.DecodeEvents([]byte(tt.body))
			if err == nil {
				t.Fatalf("DecodeEvents accepted %d events; want an error", len(evs))
			}
			var we *warden.Error
			if !errorsAs(err, &we) {
				t.Fatalf("error %v is not a *warden.Error", err)
			}
			if we.Code != tt.code || we.Field != tt.field || !strings.Contains(we.Message, tt.msg) {
				t.Errorf("got code=%q field=%q message=%q; want code=%q field=%q message containing %q", we.Code, we.Field, we.Message, tt.code, tt.field, tt.msg)
			}
			if evs != nil {
				t.Errorf("returned events beside the error")
			}
		})
	}
}

func TestDecodeEventsBatchLimit(t *testing.T) {
	var sb strings.Builder
	sb.WriteString(`{"events":[`)
	for i := 0; i <= warden.MaxBatchEvents; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"id":"e%d","type":"like","time":"2026-11-22T10:00:00Z","actor":"u"}`, i)
	}
	sb.WriteString(`]}`)
	_, _, err := warden.DecodeEvents([]byte(sb.String()))
	if warden.ErrorCode(err) != warden.ETOOLARGE {
		t.Fatalf("10,001 events: %v, want too_large", err)
	}
	full := strings.Replace(sb.String(), fmt.Sprintf(`,{"id":"e%d","type":"like","time":"2026-11-22T10:00:00Z","actor":"u"}`, warden.MaxBatchEvents), "", 1)
	evs, _, err := warden.DecodeEvents([]byte(full))
	if err != nil || len(evs) != warden.MaxBatchEvents {
		t.Fatalf("10,000 events: got %d, %v", len(evs), err)
	}
}

func errorsAs(err error, target **warden.Error) bool {
	e, ok := err.(*warden.Error)
	if ok {
		*target = e
	}
	return ok
}

// FuzzDecodeEvents checks that any input is either rejected with a
// *warden.Error or decodes to valid events that survive a JSON round trip.
func FuzzDecodeEvents(f *testing.F) {
	for _, s := range []string{
		`{"id":"e1","type":"signup","time":"2026-11-22T10:00:00Z","actor":"u1"}`,
		`{"events":[{"id":"a","type":"like","time":"2026-11-22T10:00:00Z","actor":"u1","ip":"1.2.3.4","country":"de","attrs":{"x":1,"y":"z","w":true}}]}`,
		`{"id":"e1","type":"x","time":"2026-11-22T10:00:00.123456789+09:00","actor":"u","target":"t","target_kind":"content","text":"héllo"}`,
		`{"events":[]}`, `{}`, `[]`, `{"id":"\u0000"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, _, err := warden.DecodeEvents(body)
		if err != nil {
			var we *warden.Error
			if !errorsAs(err, &we) || we.Message == "" {
				t.Fatalf("error %#v is not a *warden.Error with a message", err)
			}
			return
		}
		if len(evs) == 0 {
			t.Fatal("no error and no events")
		}
		for i := range evs {
			ev := evs[i]
			if err := ev.Validate(""); err != nil {
				t.Fatalf("decoded event does not validate: %v", err)
			}
			// Nothing accepted was rewritten: no U+FFFD that the body
			// did not carry (as a character or an escape).
			for _, v := range []string{ev.ID, ev.Actor, ev.Target, ev.Text} {
				if strings.ContainsRune(v, utf8.RuneError) && !bytes.Contains(body, []byte("\uFFFD")) &&
					!bytes.Contains(bytes.ToLower(body), []byte(`\ufffd`)) {
					t.Fatalf("decoding put U+FFFD into %q", v)
				}
			}
			b, err := json.Marshal(ev)
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			back, err := warden.DecodeEvent(b)
			if err != nil {
				t.Fatalf("round trip of %s: %v", b, err)
			}
			if diff := cmp.Diff(ev, back); diff != "" {
				t.Fatalf("round trip changed the event (-want +got):\n%s", diff)
			}
		}
	})
}
