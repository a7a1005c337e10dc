package mfa

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/internal/groupcommit"
	"github.com/wardenhq/warden/internal/sealed"
	"github.com/wardenhq/warden/sqlstore"
)

// Methods of a verification.
const (
	MethodTOTP     = "totp"
	MethodRecovery = "recovery_code"
)

// RecoveryCodes is how many recovery codes a confirmation hands out.
const RecoveryCodes = 10

// Options configure a Service.
type Options struct {
	DB *sqlstore.DB
	// Box seals TOTP secrets (bound to the user id); Mac hashes recovery
	// codes. Both keys live in the data directory (package sealed).
	Box *sealed.Box
	Mac *sealed.Mac
	// Issuer names the service in authenticator apps; "Warden" if empty.
	Issuer string
	Now    func() time.Time // time.Now when nil
	// MaxFailures wrong codes within FailWindow of the first one lock a
	// user's verification until the window ends (429). Zero: 5 in 15 min.
	MaxFailures int
	FailWindow  time.Duration
	// PendingTTL is how long an unconfirmed enrolment blocks a new one;
	// after that a new enrolment replaces it. Zero: 10 minutes.
	PendingTTL time.Duration
}

// Service enrols and verifies users' second factor. User ids are opaque
// strings: the platform's account ids, or a namespaced id (such as
// "console:"+id) for another population of users sharing the store.
type Service struct {
	opt Options
	// accept records accepted TOTP steps, group-committed: a verification
	// answers only once its code is durably marked used (so a replay is
	// refused even across a crash), and concurrent ones share the fsync.
	accept *groupcommit.Group[sqlstore.TOTPStep, bool]
}

// New returns a Service.
func New(opt Options) *Service {
	if opt.Issuer == "" {
		opt.Issuer = "Warden"
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.MaxFailures == 0 {
		opt.MaxFailures = 5
	}
	if opt.FailWindow == 0 {
		opt.FailWindow = 15 * time.Minute
	}
	if opt.PendingTTL == 0 {
		opt.PendingTTL = 10 * time.Minute
	}
	return &Service{opt: opt, accept: groupcommit.New(256, opt.DB.AcceptTOTPSteps)}
}

// RateLimited is the error of a verification refused because of earlier
// failures; RetryAfter says when the user may try again.
type RateLimited struct {
	Err        *warden.Error
	RetryAfter time.Duration
}

func (e *RateLimited) Error() string { return e.Err.Error() }
func (e *RateLimited) Unwrap() error { return e.Err }

// RetryAfterSeconds is the Retry-After header's value.
func (e *RateLimited) RetryAfterSeconds() int { return int(math.Ceil(e.RetryAfter.Seconds())) }

// Prompt says where an enrolment or a funnel event came from: the user's
// region, the moment the platform prompted (after_login,
// after_security_event, center …) and the prompt's variant (an A/B arm).
type Prompt struct {
	Region  string `json:"region"`
	Moment  string `json:"moment"`
	Variant string `json:"variant"`
}

// Check refuses a prompt with a region outside the markets or a moment or
// variant that is not a short lower-case word, naming the field under
// prefix.
func (p *Prompt) Check(prefix string) error {
	if p.Region != "" && !slices.Contains(warden.Markets, p.Region) {
		return warden.FieldErrorf(prefix+"region", "region must be one of %s, or absent", strings.Join(warden.Markets, ", "))
	}
	for _, f := range []struct{ name, v string }{{"moment", p.Moment}, {"variant", p.Variant}} {
		if !word(f.v) {
			return warden.FieldErrorf(prefix+f.name, "%s must be at most 40 characters of a-z, 0-9, _ and - (such as after_login)", f.name)
		}
	}
	return nil
}

func word(s string) bool {
	if len(s) > 40 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Enrolment is the answer to a begun enrolment: the secret (base32) once,
// for a user who types it, and the otpauth:// URI a QR code carries.
type Enrolment struct {
	Secret     string `json:"secret"`
	OtpauthURI string `json:"otpauth_uri"`
}

// ConsoleNamespace prefixes the names of Warden's console users here, so
// that they never meet a platform user's id (the API refuses ids with it).
const ConsoleNamespace = "warden-console:"

func secretAD(user string) []byte { return []byte("totp:" + user) }

// Begin starts a TOTP enrolment for user. It is ECONFLICT when the user has
// 2FA on, or an enrolment begun less than PendingTTL ago.
func (s *Service) Begin(ctx context.Context, user string, p Prompt) (*Enrolment, error) {
	if err := warden.CheckUserID("user", user); err != nil {
		return nil, err
	}
	if err := p.Check(""); err != nil {
		return nil, err
	}
	key, err := NewKey(s.opt.Issuer, user)
	if err != nil {
		return nil, fmt.Errorf("totp key: %w", err)
	}
	now := s.opt.Now()
	rec := &sqlstore.TOTPRecord{UserID: user, SecretSealed: s.opt.Box.Seal([]byte(key.Secret()), secretAD(user)),
		Region: p.Region, Moment: p.Moment, CreatedUS: now.UnixMicro()}
	ok, err := s.opt.DB.BeginTOTP(ctx, rec, now.Add(-s.opt.PendingTTL).UnixMicro())
	if err != nil {
		return nil, err
	}
	if !ok {
		cur, err := s.opt.DB.TOTP(ctx, user)
		if err != nil {
			return nil, err
		}
		if cur != nil && cur.Status == sqlstore.TOTPEnabled {
			return nil, warden.Errorf(warden.ECONFLICT, "two-factor authentication is already on for this user")
		}
		return nil, warden.Errorf(warden.ECONFLICT, "an enrolment is already pending for this user: confirm it with a code from the app, or begin again after %s", s.opt.PendingTTL)
	}
	if err := s.record(ctx, StageStarted, p, now); err != nil {
		return nil, err
	}
	return &Enrolment{Secret: key.Secret(), OtpauthURI: key.URL()}, nil
}

// PendingURI returns the otpauth:// URI of the user's pending enrolment (for
// a QR code), or "" when none is pending.
func (s *Service) PendingURI(ctx context.Context, user string) (string, error) {
	rec, err := s.opt.DB.TOTP(ctx, user)
	if err != nil || rec == nil || rec.Status != sqlstore.TOTPPending {
		return "", err
	}
	secret, err := s.secret(rec)
	if err != nil {
		return "", err
	}
	return KeyURI(s.opt.Issuer, user, secret)
}

func (s *Service) secret(rec *sqlstore.TOTPRecord) (string, error) {
	b, err := s.opt.Box.Open(rec.SecretSealed, secretAD(rec.UserID))
	if err != nil {
		return "", fmt.Errorf("the TOTP secret of a user does not open with this data directory's key: %w", err)
	}
	return string(b), nil
}

// errCode is the answer to a wrong code; it names the field.
func errCode(msg string) error {
	return &warden.Error{Code: warden.EUNPROCESSABLE, Field: "code", Message: msg}
}

// checkCode refuses an empty or absurdly long code before any work.
func checkCode(code string) error {
	if strings.TrimSpace(code) == "" {
		return warden.FieldErrorf("code", "code is required: the 6 digits the authenticator app shows, or a recovery code")
	}
	if len(code) > 64 {
		return warden.FieldErrorf("code", "code is %d bytes; a code is 6 digits, a recovery code 11 characters", len(code))
	}
	return nil
}

// limited refuses a user locked by earlier failures.
func (s *Service) limited(rec *sqlstore.TOTPRecord, now time.Time) error {
	if rec.Fails < s.opt.MaxFailures {
		return nil
	}
	until := time.UnixMicro(rec.FailSinceUS).Add(s.opt.FailWindow)
	if !now.Before(until) {
		return nil
	}
	return &RateLimited{RetryAfter: until.Sub(now), Err: warden.Errorf(warden.ERATELIMIT,
		"too many wrong codes for this user: try again after %s", until.UTC().Format(time.RFC3339))}
}

// failed counts a wrong code and returns err, or the rate limit when this
// failure reached it.
func (s *Service) failed(ctx context.Context, user string, now time.Time, err error) error {
	n, since, rerr := s.opt.DB.RecordTOTPFailure(ctx, user, now.UnixMicro(), s.opt.FailWindow.Microseconds())
	if rerr != nil {
		return rerr
	}
	if n >= s.opt.MaxFailures {
		return s.limited(&sqlstore.TOTPRecord{Fails: n, FailSinceUS: since}, now)
	}
	return err
}

// Confirm turns the user's pending enrolment on with a current code from
// the app, and returns ten recovery codes, shown once.
func (s *Service) Confirm(ctx context.Context, user, code string) ([]string, error) {
	if err := warden.CheckUserID("user", user); err != nil {
		return nil, err
	}
	if err := checkCode(code); err != nil {
		return nil, err
	}
	rec, err := s.opt.DB.TOTP(ctx, user)
	if err != nil {
		return nil, err
	}
	switch {
	case rec == nil:
		return nil, warden.Errorf(warden.ECONFLICT, "no enrolment is pending for this user: POST /v1/users/{user}/2fa/totp begins one")
	case rec.Status == sqlstore.TOTPEnabled:
		return nil, warden.Errorf(warden.ECONFLICT, "two-factor authentication is already on for this user")
	}
	now := s.opt.Now()
	if err := s.limited(rec, now); err != nil {
		return nil, err
	}
	secret, err := s.secret(rec)
	if err != nil {
		return nil, err
	}
	step, ok := Match(secret, strings.TrimSpace(code), now)
	if !ok {
		return nil, s.failed(ctx, user, now, errCode("the code does not match: type the 6 digits the authenticator app shows now"))
	}
	codes, hashes := s.newRecoveryCodes(user)
	ok, err = s.opt.DB.ConfirmTOTP(ctx, user, rec.CreatedUS, step, hashes, now.UnixMicro())
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, warden.Errorf(warden.ECONFLICT, "the enrolment changed meanwhile (confirmed or begun again elsewhere); check GET /v1/users/{user}/2fa")
	}
	if err := s.record(ctx, StageConfirmed, Prompt{Region: rec.Region, Moment: rec.Moment}, now); err != nil {
		return nil, err
	}
	return codes, nil
}

// recoveryAlphabet has no 0/o, 1/l/i: codes are read off paper.
const recoveryAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"

func (s *Service) newRecoveryCodes(user string) (codes, hashes []string) {
	for range RecoveryCodes {
		b := make([]byte, 10)
		rand.Read(b)
		var sb strings.Builder
		for i, x := range b {
			if i == 5 {
				sb.WriteByte('-')
			}
			// 256 = 8*31 + 8: the first eight letters are a shade likelier;
			// 10 of 31 symbols is still over 49 bits per code.
			sb.WriteByte(recoveryAlphabet[int(x)%len(recoveryAlphabet)])
		}
		c := sb.String()
		codes = append(codes, c)
		hashes = append(hashes, s.hashRecovery(user, c))
	}
	return codes, hashes
}

// normaliseRecovery lower-cases a recovery code and drops spaces and
// hyphens, so "ABCDE FGHJK" matches "abcde-fghjk".
func normaliseRecovery(code string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, code)
}

func (s *Service) hashRecovery(user, code string) string {
	return hex.EncodeToString(s.opt.Mac.Sum("recovery-code", []byte(user+"\x00"+normaliseRecovery(code))))
}

// Verify checks a code for user: a TOTP code (6 digits) or a recovery code.
// Each is accepted once; a replayed TOTP code, a used recovery code or a
// wrong one is EUNPROCESSABLE and counts as a failure; too many failures
// are a *RateLimited.
func (s *Service) Verify(ctx context.Context, user, code string) (method string, err error) {
	if err := warden.CheckUserID("user", user); err != nil {
		return "", err
	}
	if err := checkCode(code); err != nil {
		return "", err
	}
	rec, err := s.opt.DB.TOTP(ctx, user)
	if err != nil {
		return "", err
	}
	if rec == nil || rec.Status != sqlstore.TOTPEnabled {
		return "", errCode("two-factor authentication is not on for this user")
	}
	now := s.opt.Now()
	if err := s.limited(rec, now); err != nil {
		return "", err
	}
	code = strings.TrimSpace(code)
	if len(code) == Digits.Length() && strings.Trim(code, "0123456789") == "" {
		secret, err := s.secret(rec)
		if err != nil {
			return "", err
		}
		step, ok := Match(secret, code, now)
		if !ok {
			return "", s.failed(ctx, user, now, errCode("the code does not match: type the 6 digits the authenticator app shows now"))
		}
		if ok, err := s.accept.Do(ctx, sqlstore.TOTPStep{User: user, Step: step}); err != nil {
			return "", err
		} else if !ok {
			return "", s.failed(ctx, user, now, errCode("this code was already used: wait for the app to show the next one"))
		}
		return MethodTOTP, nil
	}
	ok, err := s.opt.DB.UseRecoveryCode(ctx, user, s.hashRecovery(user, code), now.UnixMicro())
	if err != nil {
		return "", err
	}
	if !ok {
		return "", s.failed(ctx, user, now, errCode("not a recovery code of this user, or one already used"))
	}
	return MethodRecovery, nil
}

// Status is GET /v1/users/{user}/2fa.
type Status struct {
	Enabled           bool     `json:"enabled"`
	Methods           []string `json:"methods"`
	RecoveryCodesLeft int      `json:"recovery_codes_left"`
	// Pending is true while an enrolment waits for its confirmation.
	Pending bool `json:"pending"`
}

// Status says whether the user has 2FA on, with which methods, and how many
// recovery codes are left.
func (s *Service) Status(ctx context.Context, user string) (*Status, error) {
	if err := warden.CheckUserID("user", user); err != nil {
		return nil, err
	}
	rec, err := s.opt.DB.TOTP(ctx, user)
	if err != nil {
		return nil, err
	}
	st := &Status{Methods: []string{}}
	if rec == nil {
		return st, nil
	}
	if rec.Status == sqlstore.TOTPPending {
		st.Pending = true
		return st, nil
	}
	st.Enabled = true
	st.Methods = append(st.Methods, MethodTOTP)
	if st.RecoveryCodesLeft, err = s.opt.DB.RecoveryCodesLeft(ctx, user); err != nil {
		return nil, err
	}
	if st.RecoveryCodesLeft > 0 {
		st.Methods = append(st.Methods, MethodRecovery)
	}
	return st, nil
}
