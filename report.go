package warden

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"time"
)

// Report categories (CONTRACT §3), the reasons a user may give for a report.
const (
	CategoryScam           = "scam"
	CategoryFakeProfile    = "fake_profile"
	CategoryImpersonation  = "impersonation"
	CategoryMisinformation = "misinformation"
	CategoryInappropriate  = "inappropriate"
	CategoryHarassment     = "harassment"
	CategoryOther          = "other"
)

// Categories lists every report category.
var Categories = []string{CategoryScam, CategoryFakeProfile, CategoryImpersonation, CategoryMisinformation,
	CategoryInappropriate, CategoryHarassment, CategoryOther}

// Report sources: who filed a report. Detections are the engine's own
// signals (DSA "own voluntary initiative").
const (
	SourceUser           = "user"
	SourceTrustedFlagger = "trusted_flagger"
	SourceDetection      = "detection"
)

// Report statuses, the steps of the reporter's timeline.
const (
	ReportReceived = "received"
	ReportInReview = "in_review"
	ReportDecided  = "decided"
)

// Report is one notice about a subject (an account or a piece of content).
// Several reports on one subject share one open Case.
type Report struct {
	ID          string  `db:"id" json:"id"`
	CaseID      string  `db:"case_id" json:"case_id"`
	Reporter    string  `db:"reporter" json:"reporter"`
	Source      string  `db:"source" json:"source"`
	Flagger     string  `db:"flagger" json:"-"` // the trusted flagger's key or user id
	SubjectKind string  `db:"subject_kind" json:"-"`
	SubjectID   string  `db:"subject_id" json:"-"`
	Category    string  `db:"category" json:"category"`
	Description string  `db:"description" json:"description"`
	Evidence    Strings `db:"evidence" json:"evidence"`
	Status      string  `db:"status" json:"status"`
	ReceivedAt  Micros  `db:"received_us" json:"received_at"`
	DecidedAt   Micros  `db:"decided_us" json:"decided_at,omitempty"`
	DecisionID  string  `db:"decision_id" json:"decision_id,omitempty"`
	IdemKey     *string `db:"idem_key" json:"-"`
}

// Micros is a time stored as microseconds since the Unix epoch; zero means
// unset. It is RFC 3339 in JSON and a BIGINT in SQL, so domain types scan
// straight from rows and print straight to the API.
type Micros int64

// MicrosOf returns t as Micros.
func MicrosOf(t time.Time) Micros { return Micros(t.UnixMicro()) }

// Time returns m as a UTC time (the zero time when m is zero).
func (m Micros) Time() time.Time {
	if m == 0 {
		return time.Time{}
	}
	return time.UnixMicro(int64(m)).UTC()
}

func (m Micros) MarshalJSON() ([]byte, error) {
	if m == 0 {
		return []byte("null"), nil
	}
	return json.Marshal(m.Time().Format(time.RFC3339Nano))
}

func (m *Micros) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*m = 0
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return err
	}
	*m = MicrosOf(t)
	return nil
}

func (m Micros) Value() (driver.Value, error) { return int64(m), nil }

func (m *Micros) Scan(src any) error {
	switch v := src.(type) {
	case int64:
		*m = Micros(v)
	case nil:
		*m = 0
	default:
		return fmt.Errorf("micros: cannot scan %T", src)
	}
	return nil
}

// Strings is a list of strings kept as a JSON array in one SQL column.
type Strings []string

func (s Strings) Value() (driver.Value, error) {
	if s == nil {
		return "[]", nil
	}
	b, err := json.Marshal([]string(s))
	return string(b), err
}

func (s *Strings) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case string:
		b = []byte(v)
	case []byte:
		b = v
	case nil:
		*s = nil
		return nil
	default:
		return fmt.Errorf("strings: cannot scan %T", src)
	}
	return json.Unmarshal(b, (*[]string)(s))
}

// RawJSON is a JSON document kept as text in one SQL column; empty is null.
type RawJSON []byte

func (r RawJSON) MarshalJSON() ([]byte, error) {
	if len(r) == 0 {
		return []byte("null"), nil
	}
	return r, nil
}

func (r *RawJSON) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*r = nil
		return nil
	}
	*r = append((*r)[:0], b...)
	return nil
}

func (r RawJSON) Value() (driver.Value, error) { return string(r), nil }

func (r *RawJSON) Scan(src any) error {
	switch v := src.(type) {
	case string:
		*r = RawJSON(v)
	case []byte:
		*r = append(RawJSON(nil), v...)
	case nil:
		*r = nil
	default:
		return fmt.Errorf("rawjson: cannot scan %T", src)
	}
	return nil
}
