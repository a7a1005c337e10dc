package clientperm

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/wardenhq/warden"
)

// Limits of the calls' bodies.
const (
	// MaxManifestBody is the largest manifest body, in bytes.
	MaxManifestBody = 1 << 20
	// MaxFeatures is how many features one manifest may declare.
	MaxFeatures = 2000
	// MaxRecords is how many records one POST /v1/client/permissions may
	// carry; a larger batch is refused whole (413), nothing stored.
	MaxRecords = 10_000
	// MaxRecordsBody is the largest records body, in bytes.
	MaxRecordsBody = 8 << 20
	// MaxNameLen bounds app versions and feature names, in bytes.
	MaxNameLen = 128
	// MaxCount is the most reads one record may count.
	MaxCount = 1_000_000
	// MaxClockSkew is how far in the future a record's time may be.
	MaxClockSkew = time.Hour
)

// DecodeManifest decodes and checks the body of PUT /v1/client/manifest,
// strictly: unknown fields, permissions and triggers are errors naming the
// field (features[1].permissions[0].trigger).
func DecodeManifest(body []byte) (Manifest, error) {
	// Level by level, so that an error inside a feature names its place.
	var top struct {
		AppVersion string            `json:"app_version"`
		Features   []json.RawMessage `json:"features"`
	}
	if err := warden.DecodeStrict(body, &top); err != nil {
		return Manifest{}, err
	}
	m := Manifest{AppVersion: top.AppVersion}
	if top.Features != nil {
		m.Features = make([]Feature, len(top.Features))
	}
	for i, raw := range top.Features {
		field := fmt.Sprintf("features[%d]", i)
		var f struct {
			Feature     string            `json:"feature"`
			Permissions []json.RawMessage `json:"permissions"`
		}
		if err := decodeAt(field, raw, &f); err != nil {
			return Manifest{}, err
		}
		m.Features[i] = Feature{Feature: f.Feature, Permissions: make([]Use, len(f.Permissions))}
		for k, raw := range f.Permissions {
			if err := decodeAt(fmt.Sprintf("%s.permissions[%d]", field, k), raw, &m.Features[i].Permissions[k]); err != nil {
				return Manifest{}, err
			}
		}
	}
	if err := CheckManifest(&m); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

// CheckManifest validates m: an app version, at least one feature, each
// named once with at least one permission, each permission known, declared
// once per feature, with a known trigger.
func CheckManifest(m *Manifest) error {
	if err := checkName("app_version", m.AppVersion); err != nil {
		return err
	}
	if m.Features == nil {
		return warden.FieldErrorf("features", "features is required: the app version's features and the permissions each may use (an empty list declares none)")
	}
	if len(m.Features) > MaxFeatures {
		return warden.FieldErrorf("features", "%d features; at most %d", len(m.Features), MaxFeatures)
	}
	seen := map[string]int{}
	for i, f := range m.Features {
		field := fmt.Sprintf("features[%d]", i)
		if err := checkName(field+".feature", f.Feature); err != nil {
			return err
		}
		if j, dup := seen[f.Feature]; dup {
			return warden.FieldErrorf(field+".feature", "feature %q is declared twice (features[%d] and features[%d]): list all its permissions in one entry", f.Feature, j, i)
		}
		seen[f.Feature] = i
		if len(f.Permissions) == 0 {
			return warden.FieldErrorf(field+".permissions", "feature %q declares no permission: list what it may use, or leave the feature out", f.Feature)
		}
		perms := map[string]bool{}
		for k, u := range f.Permissions {
			pf := fmt.Sprintf("%s.permissions[%d]", field, k)
			if err := CheckPermission(pf+".permission", u.Permission); err != nil {
				return err
			}
			if perms[u.Permission] {
				return warden.FieldErrorf(pf+".permission", "feature %q declares %s twice", f.Feature, u.Permission)
			}
			perms[u.Permission] = true
			if u.Trigger != TriggerUserGesture && u.Trigger != TriggerAny {
				return warden.FieldErrorf(pf+".trigger", "trigger %q is not one of user_gesture, any", u.Trigger)
			}
		}
	}
	return nil
}

// CheckPermission refuses a permission outside the closed list.
func CheckPermission(field, p string) error {
	if !slices.Contains(Permissions, p) {
		return warden.FieldErrorf(field, "permission %q is not one of %s", p, strings.Join(Permissions, ", "))
	}
	return nil
}

// CheckAppVersion validates an app version (a query parameter, say).
func CheckAppVersion(field, v string) error { return checkName(field, v) }

func checkName(field, v string) error {
	switch {
	case v == "":
		return warden.FieldErrorf(field, "%s is required", field)
	case len(v) > MaxNameLen:
		return warden.FieldErrorf(field, "%s is %d bytes; at most %d", field, len(v), MaxNameLen)
	case !utf8.ValidString(v):
		return warden.FieldErrorf(field, "%s is not valid UTF-8", field)
	case strings.IndexFunc(v, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) && r != ' ' }) >= 0:
		return warden.FieldErrorf(field, "%s contains a control character", field)
	case strings.TrimSpace(v) != v:
		return warden.FieldErrorf(field, "%s starts or ends with a space", field)
	}
	return nil
}

// wireRecord is a record as sent: pointers tell a missing field from a
// zero one.
type wireRecord struct {
	User       string  `json:"user"`
	AppVersion string  `json:"app_version"`
	Permission string  `json:"permission"`
	Feature    string  `json:"feature"`
	Trigger    string  `json:"trigger"`
	Foreground *bool   `json:"foreground"`
	Count      *int    `json:"count"`
	Time       *string `json:"time"`
}

// decodeAt decodes raw strictly into v, errors naming their place under
// field (records[3].count).
func decodeAt(field string, raw json.RawMessage, v any) error {
	err := warden.DecodeStrict(raw, v)
	var we *warden.Error
	if !errors.As(err, &we) {
		return err
	}
	e := *we
	if e.Field != "" {
		e.Field = field + "." + e.Field
	} else {
		e.Field = field
	}
	e.Message = field + ": " + e.Message
	return &e
}

// DecodeRecords decodes and checks the body of POST /v1/client/permissions
// at now: {"records": [...]}, at most MaxRecords (413 past it), every field
// required and checked. Any bad record refuses the whole batch, naming it
// (records[3].trigger).
func DecodeRecords(body []byte, now time.Time) ([]Record, error) {
	// The fast path: the whole batch in one decode by encoding/json v2,
	// which is stricter than warden.DecodeStrict (unknown and duplicate
	// members, invalid UTF-8, and member names matched exactly) and about
	// three times faster. Only when it fails does the slow path below
	// decode the body and each record alone, and its answer stands, so that
	// an error names the record and field as every decoder's do.
	var all struct {
		Records []wireRecord `json:"records"`
	}
	if jsonv2.Unmarshal(body, &all, jsonv2.RejectUnknownMembers(true)) == nil && len(all.Records) <= MaxRecords {
		if all.Records == nil {
			return nil, warden.FieldErrorf("records", "records is required: a list of sensitive reads")
		}
		out := make([]Record, len(all.Records))
		for i, w := range all.Records {
			r, err := checkRecord(fmt.Sprintf("records[%d]", i), w, now)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	return decodeRecordsEach(body, now)
}

// decodeRecordsEach is DecodeRecords' slow path: the batch's shape first
// (an oversize batch is refused by its length), then each record alone,
// with warden.DecodeStrict, so that an error names the record.
func decodeRecordsEach(body []byte, now time.Time) ([]Record, error) {
	var shape struct {
		Records []json.RawMessage `json:"records"`
	}
	if err := warden.DecodeStrict(body, &shape); err != nil {
		return nil, err
	}
	if shape.Records == nil {
		return nil, warden.FieldErrorf("records", "records is required: a list of sensitive reads")
	}
	if len(shape.Records) > MaxRecords {
		return nil, &warden.Error{Code: warden.ETOOLARGE, Field: "records",
			Message: fmt.Sprintf("%d records in one batch; at most %d: send them in batches of %d or fewer (nothing of this one was stored)", len(shape.Records), MaxRecords, MaxRecords)}
	}
	out := make([]Record, len(shape.Records))
	for i, raw := range shape.Records {
		var w wireRecord
		field := fmt.Sprintf("records[%d]", i)
		if err := decodeAt(field, raw, &w); err != nil {
			return nil, err
		}
		r, err := checkRecord(field, w, now)
		if err != nil {
			return nil, err
		}
		out[i] = r
	}
	return out, nil
}

func checkRecord(field string, w wireRecord, now time.Time) (Record, error) {
	if err := warden.CheckUserID(field+".user", w.User); err != nil {
		return Record{}, err
	}
	if err := checkName(field+".app_version", w.AppVersion); err != nil {
		return Record{}, err
	}
	if err := CheckPermission(field+".permission", w.Permission); err != nil {
		return Record{}, err
	}
	if err := checkName(field+".feature", w.Feature); err != nil {
		return Record{}, err
	}
	if w.Trigger != TriggerUserGesture && w.Trigger != TriggerProgrammatic {
		return Record{}, warden.FieldErrorf(field+".trigger", "trigger %q is not one of user_gesture, programmatic", w.Trigger)
	}
	if w.Foreground == nil {
		return Record{}, warden.FieldErrorf(field+".foreground", "foreground is required: true when the app was in the foreground")
	}
	if w.Count == nil {
		return Record{}, warden.FieldErrorf(field+".count", "count is required: how many reads this record stands for")
	}
	if *w.Count < 1 || *w.Count > MaxCount {
		return Record{}, warden.FieldErrorf(field+".count", "count %d is out of range: 1 to %d", *w.Count, MaxCount)
	}
	if w.Time == nil || *w.Time == "" {
		return Record{}, warden.FieldErrorf(field+".time", "time is required: when the reads happened (RFC 3339)")
	}
	at, err := time.Parse(time.RFC3339, *w.Time)
	if err != nil {
		return Record{}, warden.FieldErrorf(field+".time", "time %q is not an RFC 3339 time (2026-12-06T10:00:00Z)", *w.Time)
	}
	if at.After(now.Add(MaxClockSkew)) {
		return Record{}, warden.FieldErrorf(field+".time", "time %s is more than %s in the future", at.UTC().Format(time.RFC3339), MaxClockSkew)
	}
	if at.Year() < 2000 {
		return Record{}, warden.FieldErrorf(field+".time", "time %s is before 2000", at.UTC().Format(time.RFC3339))
	}
	return Record{User: w.User, AppVersion: w.AppVersion, Permission: w.Permission, Feature: w.Feature, Trigger: w.Trigger,
		Foreground: *w.Foreground, Count: *w.Count, Time: at.UTC()}, nil
}
