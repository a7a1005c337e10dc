// Package clientperm is the sensitive-permission ledger (issue 13, CONTRACT
// §8): the platform's client reports each sensitive read it made on a
// user's device (clipboard, contacts, location, camera, microphone,
// photos) with the feature that made it, whether a user gesture triggered
// it, foreground or background, and a count, never the content. A manifest
// per app version declares which feature may use which permission with
// which trigger. The report checks the reads against the manifest: reads
// without a gesture where one is required, background reads, undeclared
// uses and rate anomalies, and lists the declared capabilities not used in
// the window (the code to clean out). Users see what their app read.
//
// Users are pseudonymised at rest: records carry the HMAC-SHA256 of the
// user id under a key of the data directory, never the id, so the report,
// the rate rule and the user's own view (which computes the same HMAC)
// work, and the table alone does not say whose device read what.
package clientperm

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/internal/sealed"
)

// Permissions a client reports (CONTRACT §8), in the order reports list
// them.
const (
	Clipboard  = "clipboard.read"
	Contacts   = "contacts.read"
	Location   = "location"
	Camera     = "camera"
	Microphone = "microphone"
	Photos     = "photos"
)

// Permissions lists every permission.
var Permissions = []string{Clipboard, Contacts, Location, Camera, Microphone, Photos}

// Triggers of a manifest's declared use, and of a record.
const (
	// TriggerUserGesture in a manifest: the feature may use the permission
	// only right after a user gesture (a tap on paste, on the shutter). In
	// a record: a gesture triggered the read.
	TriggerUserGesture = "user_gesture"
	// TriggerAny in a manifest: the feature may use it without a gesture.
	TriggerAny = "any"
	// TriggerProgrammatic in a record: the code read without a gesture.
	TriggerProgrammatic = "programmatic"
)

// Flag kinds of a report.
const (
	FlagNoGesture  = "no_gesture"
	FlagBackground = "background"
	FlagUndeclared = "undeclared"
	FlagRate       = "rate"
)

// Manifest declares, for one app version, which feature may use which
// permission with which trigger.
type Manifest struct {
	AppVersion string    `json:"app_version"`
	Features   []Feature `json:"features"`
}

// Feature is one feature of a manifest and the permissions it may use.
type Feature struct {
	Feature     string `json:"feature"`
	Permissions []Use  `json:"permissions"`
}

// Use is one declared permission of a feature.
type Use struct {
	Permission string `json:"permission"`
	Trigger    string `json:"trigger"`
}

// Record is one report of sensitive reads from the client. User is the
// platform's account id as sent; the store keeps only its pseudonym.
type Record struct {
	User       string    `json:"user"`
	AppVersion string    `json:"app_version"`
	Permission string    `json:"permission"`
	Feature    string    `json:"feature"`
	Trigger    string    `json:"trigger"`
	Foreground bool      `json:"foreground"`
	Count      int       `json:"count"`
	Time       time.Time `json:"time"`
}

// StoredRecord is a record as kept: the user's pseudonym (hex), never the id, and
// whether the app version's manifest declared the use when it arrived.
type StoredRecord struct {
	UserHash   string `db:"user_hash"`
	AppVersion string `db:"app_version"`
	Permission string `db:"permission"`
	Feature    string `db:"feature"`
	Trigger    string `db:"trigger_kind"`
	Foreground bool   `db:"foreground"`
	Count      int    `db:"reads"`
	TimeUS     int64  `db:"time_us"`
	ReceivedUS int64  `db:"received_us"`
	Declared   bool   `db:"declared"`
}

// Usage is the reads of one (feature, permission, trigger, foreground) of
// an app version in a window, summed.
type Usage struct {
	Feature    string `db:"feature"`
	Permission string `db:"permission"`
	Trigger    string `db:"trigger_kind"`
	Foreground bool   `db:"foreground"`
	Count      int64  `db:"reads"`
	LastUS     int64  `db:"last_us"`
}

// MinuteCount is the reads one user's client made through one feature and
// permission in one minute (Minute is Unix seconds / 60).
type MinuteCount struct {
	UserHash   string `db:"user_hash"`
	Feature    string `db:"feature"`
	Permission string `db:"permission"`
	Minute     int64  `db:"minute"`
	Count      int64  `db:"reads"`
}

// LastUse is when a feature last used a permission, in any window.
type LastUse struct {
	Feature    string `db:"feature"`
	Permission string `db:"permission"`
	LastUS     int64  `db:"last_us"`
}

// Store keeps manifests and records (sqlstore.DB implements it on SQLite
// and PostgreSQL).
type Store interface {
	// PutClientManifest replaces the manifest of m.AppVersion.
	PutClientManifest(ctx context.Context, m Manifest, by string, atUS int64) error
	// ClientManifest returns the manifest of appVersion, or ok false.
	ClientManifest(ctx context.Context, appVersion string) (m Manifest, ok bool, err error)
	// ClientManifests returns the manifests of the given app versions
	// that have one.
	ClientManifests(ctx context.Context, appVersions []string) (map[string]Manifest, error)
	// AddPermissionRecords stores recs in one transaction: all or none.
	AddPermissionRecords(ctx context.Context, recs []StoredRecord) error
	// PermissionUsage sums appVersion's records with time in [fromUS, toUS).
	PermissionUsage(ctx context.Context, appVersion string, fromUS, toUS int64) ([]Usage, error)
	// PermissionMinutes sums appVersion's records in [fromUS, toUS) per
	// user, feature, permission and minute.
	PermissionMinutes(ctx context.Context, appVersion string, fromUS, toUS int64) ([]MinuteCount, error)
	// PermissionLastUse is the latest record time per feature and
	// permission of appVersion, over all time.
	PermissionLastUse(ctx context.Context, appVersion string) ([]LastUse, error)
	// PermissionRecordsOf lists the records of one pseudonymised user with
	// time in [fromUS, toUS), oldest first.
	PermissionRecordsOf(ctx context.Context, userHash string, fromUS, toUS int64) ([]StoredRecord, error)
	// DeletePermissionRecordsOf deletes every record of one pseudonymised
	// user and returns how many.
	DeletePermissionRecordsOf(ctx context.Context, userHash string) (int, error)
	// ClientAppVersions lists the app versions with a manifest or records,
	// newest activity first.
	ClientAppVersions(ctx context.Context) ([]string, error)
}

// Options configure a Service.
type Options struct {
	Store Store
	// Mac pseudonymises user ids (a key of its own in the data directory).
	Mac *sealed.Mac
	// Rate is the rate rule; zero values take DefaultRate's.
	Rate RateRule
	Now  func() time.Time
}

// Service is the sensitive-permission ledger.
type Service struct {
	opt Options
	// pkey is the pseudonyms' own key, derived from opt.Mac, so that a
	// batch reuses one HMAC state for all its users.
	pkey []byte
}

// New returns a Service over opt.Store.
func New(opt Options) *Service {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	opt.Rate = opt.Rate.withDefaults()
	s := &Service{opt: opt}
	if opt.Mac != nil {
		s.pkey = opt.Mac.Sum(userPurpose, nil)
	}
	return s
}

// userPurpose keeps the pseudonyms apart from other sums of the same key.
const userPurpose = "clientperm-user"

// Pseudonym is the id a user's records are stored under: the first 128
// bits of HMAC-SHA256 of the user id under a key derived from the
// service's (HMAC-SHA256 of "clientperm-user" under it), in hex; collisions
// among a platform's users are out of reach (2^64 ids for even odds).
func (s *Service) Pseudonym(user string) string { return s.pseudonymizer()(user) }

// pseudonymizer returns a function computing Pseudonym with one HMAC state,
// for one goroutine.
func (s *Service) pseudonymizer() func(string) string {
	h := hmac.New(sha256.New, s.pkey)
	var buf [sha256.Size]byte
	return func(user string) string {
		h.Reset()
		h.Write([]byte(user))
		return hex.EncodeToString(h.Sum(buf[:0])[:16])
	}
}

// PutManifest checks m and replaces its app version's manifest.
func (s *Service) PutManifest(ctx context.Context, p *warden.Principal, m Manifest) (Manifest, error) {
	if err := CheckManifest(&m); err != nil {
		return Manifest{}, err
	}
	by := ""
	if p != nil {
		by = p.ID
	}
	if err := s.opt.Store.PutClientManifest(ctx, m, by, s.opt.Now().UnixMicro()); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

// Manifest returns the manifest of appVersion (ENOTFOUND when none).
func (s *Service) Manifest(ctx context.Context, appVersion string) (Manifest, error) {
	m, ok, err := s.opt.Store.ClientManifest(ctx, appVersion)
	if err != nil {
		return Manifest{}, err
	}
	if !ok {
		return Manifest{}, &warden.Error{Code: warden.ENOTFOUND, Field: "app_version", Message: "no manifest for app version " + appVersion}
	}
	return m, nil
}

// Accepted is the answer to a batch of records.
type Accepted struct {
	Accepted int `json:"accepted"`
	// Undeclared counts the records whose app version has no manifest or
	// whose manifest does not declare the feature's use of the
	// permission: kept, and flagged in the report.
	Undeclared int `json:"undeclared"`
}

// Record stores a checked batch (DecodeRecords) in one transaction, users
// pseudonymised; records of app versions without a manifest are kept and
// flagged undeclared.
func (s *Service) Record(ctx context.Context, recs []Record) (Accepted, error) {
	vers := map[string]bool{}
	for _, r := range recs {
		vers[r.AppVersion] = true
	}
	list := make([]string, 0, len(vers))
	for v := range vers {
		list = append(list, v)
	}
	ms, err := s.opt.Store.ClientManifests(ctx, list)
	if err != nil {
		return Accepted{}, err
	}
	decl := map[string]map[useKey]string{}
	for v, m := range ms {
		decl[v] = declared(m)
	}
	now := s.opt.Now().UnixMicro()
	out := make([]StoredRecord, len(recs))
	var a Accepted
	// One HMAC per distinct user of the batch.
	hashes := map[string]string{}
	pseudonym := s.pseudonymizer()
	for i, r := range recs {
		h, ok := hashes[r.User]
		if !ok {
			h = pseudonym(r.User)
			hashes[r.User] = h
		}
		_, isDecl := decl[r.AppVersion][useKey{r.Feature, r.Permission}]
		if !isDecl {
			a.Undeclared++
		}
		out[i] = StoredRecord{UserHash: h, AppVersion: r.AppVersion, Permission: r.Permission, Feature: r.Feature,
			Trigger: r.Trigger, Foreground: r.Foreground, Count: r.Count, TimeUS: r.Time.UnixMicro(), ReceivedUS: now, Declared: isDecl}
	}
	if err := s.opt.Store.AddPermissionRecords(ctx, out); err != nil {
		return Accepted{}, err
	}
	a.Accepted = len(recs)
	return a, nil
}

type useKey struct{ feature, permission string }

// declared maps a manifest's (feature, permission) to its trigger.
func declared(m Manifest) map[useKey]string {
	out := map[useKey]string{}
	for _, f := range m.Features {
		for _, u := range f.Permissions {
			out[useKey{f.Feature, u.Permission}] = u.Trigger
		}
	}
	return out
}

// AppVersions lists the app versions with a manifest or records.
func (s *Service) AppVersions(ctx context.Context) ([]string, error) {
	return s.opt.Store.ClientAppVersions(ctx)
}

// MaxDays is the longest window a report or a user view covers.
const MaxDays = 400

// CheckDays validates a window in days (field names the query parameter).
func CheckDays(field string, days int) error {
	if days < 1 || days > MaxDays {
		return warden.FieldErrorf(field, "%s must be a whole number of days from 1 to %d", field, MaxDays)
	}
	return nil
}
