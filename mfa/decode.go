package mfa

import (
	"bytes"
	"time"

	"github.com/wardenhq/warden"
)

// MaxBody bounds the body of every 2FA call except a batch of prompt
// events (MaxFunnelBody).
const (
	MaxBody       = 4 << 10
	MaxFunnelBody = 256 << 10
)

// DecodeCode decodes {"code": "..."} strictly.
func DecodeCode(body []byte) (string, error) {
	if len(body) > MaxBody {
		return "", warden.Errorf(warden.ETOOLARGE, "the body is %d bytes; at most %d", len(body), MaxBody)
	}
	var r struct {
		Code *string `json:"code"`
	}
	if err := warden.DecodeStrict(body, &r); err != nil {
		return "", err
	}
	if r.Code == nil {
		return "", warden.FieldErrorf("code", "code is required: the 6 digits the authenticator app shows, or a recovery code")
	}
	if err := checkCode(*r.Code); err != nil {
		return "", err
	}
	return *r.Code, nil
}

// DecodePrompt decodes the optional body of an enrolment: an empty body, or
// {"region", "moment", "variant"} saying where the user was prompted.
func DecodePrompt(body []byte) (Prompt, error) {
	var p Prompt
	if len(bytes.TrimSpace(body)) == 0 {
		return p, nil
	}
	if len(body) > MaxBody {
		return p, warden.Errorf(warden.ETOOLARGE, "the body is %d bytes; at most %d", len(body), MaxBody)
	}
	if err := warden.DecodeStrict(body, &p); err != nil {
		return Prompt{}, err
	}
	if err := p.Check(""); err != nil {
		return Prompt{}, err
	}
	return p, nil
}

// DecodeFunnelEvents decodes {"events": [{"stage", "region", "moment",
// "variant", "time"}]} strictly and checks it (CheckFunnelEvents).
func DecodeFunnelEvents(body []byte, now time.Time) ([]FunnelEvent, error) {
	if len(body) > MaxFunnelBody {
		return nil, warden.Errorf(warden.ETOOLARGE, "the body is %d bytes; at most %d", len(body), MaxFunnelBody)
	}
	var r struct {
		Events []FunnelEvent `json:"events"`
	}
	if err := warden.DecodeStrict(body, &r); err != nil {
		return nil, err
	}
	if err := CheckFunnelEvents(r.Events, now); err != nil {
		return nil, err
	}
	return r.Events, nil
}
