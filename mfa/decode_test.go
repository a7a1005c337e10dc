package mfa_test

import (
	"testing"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/mfa"
)

func TestDecode(t *testing.T) {
	if c, err := mfa.DecodeCode([]byte(`{"code":"123456"}`)); err != nil || c != "123456" {
		t.Errorf("%q %v", c, err)
	}
	for body, field := range map[string]string{`{}`: "code", `{"code":""}`: "code", `{"code":1}`: "code", `{"code":"1","x":1}`: "x"} {
		var e *warden.Error
		if _, err := mfa.DecodeCode([]byte(body)); err == nil || !asError(err, &e) || e.Field != field {
			t.Errorf("%s: %v, want field %s", body, err, field)
		}
	}
	if p, err := mfa.DecodePrompt(nil); err != nil || p != (mfa.Prompt{}) {
		t.Errorf("empty body: %+v %v", p, err)
	}
	if p, err := mfa.DecodePrompt([]byte(`{"region":"JP","moment":"after_security_event","variant":"b"}`)); err != nil || p.Region != "JP" {
		t.Errorf("%+v %v", p, err)
	}
	if _, err := mfa.DecodePrompt([]byte(`{"region":"XX"}`)); warden.ErrorCode(err) != warden.EINVALID {
		t.Errorf("bad region: %v", err)
	}
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	evs, err := mfa.DecodeFunnelEvents([]byte(`{"events":[{"stage":"shown","region":"JP","moment":"after_login","variant":"a","time":"2026-11-30T10:00:00Z"},{"stage":"opened"}]}`), now)
	if err != nil || len(evs) != 2 || evs[0].Region != "JP" || evs[0].Time.IsZero() {
		t.Errorf("%+v %v", evs, err)
	}
	for _, body := range []string{`{"events":[]}`, `{"events":[{"stage":"started"}]}`, `{"events":[{"stage":"shown","time":"2027-01-01T00:00:00Z"}]}`, `{"events":[{"stage":"shown","moment":"A B"}]}`} {
		if _, err := mfa.DecodeFunnelEvents([]byte(body), now); warden.ErrorCode(err) != warden.EINVALID {
			t.Errorf("%s: %v", body, err)
		}
	}
}

func asError(err error, e **warden.Error) bool {
	x, ok := err.(*warden.Error)
	*e = x
	return ok
}

// FuzzDecode checks the three decoders never panic, and that what they
// accept is valid: a code of sane length, a prompt and events that pass
// their checks again.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"code":"123456"}`, `{"code":"abcde-fghjk"}`, `{}`, ``, `{"region":"JP","moment":"after_login"}`,
		`{"events":[{"stage":"shown","region":"US","time":"2026-11-30T10:00:00Z"}]}`, `{"code":"\ud800"}`, `{"code":"1","code":"2"}`} {
		f.Add([]byte(s))
	}
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, b []byte) {
		if c, err := mfa.DecodeCode(b); err == nil && (c == "" || len(c) > 64) {
			t.Errorf("accepted code %q", c)
		}
		if p, err := mfa.DecodePrompt(b); err == nil {
			if err := p.Check(""); err != nil {
				t.Errorf("accepted prompt %+v: %v", p, err)
			}
		} else if p != (mfa.Prompt{}) {
			t.Errorf("refused prompt returned %+v", p)
		}
		if evs, err := mfa.DecodeFunnelEvents(b, now); err == nil {
			if err := mfa.CheckFunnelEvents(evs, now); err != nil {
				t.Errorf("accepted events fail the check: %v", err)
			}
		} else if evs != nil {
			t.Errorf("refused events returned %d", len(evs))
		}
	})
}
