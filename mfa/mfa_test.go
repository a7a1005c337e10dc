package mfa_test

import (
	"bytes"
	"context"
	"encoding/base32"
	"errors"
	"image/png"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/internal/sealed"
	"github.com/wardenhq/warden/mfa"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/sqlstore/sqlstoretest"
)

// TestRFC6238Vectors checks the library's TOTP, with the parameters this
// package uses (SHA-1, 30 s), against RFC 6238 appendix B: the 8-digit
// values, and their last six digits as the 6-digit codes Match accepts.
func TestRFC6238Vectors(t *testing.T) {
	secret := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString([]byte("12345678901234567890"))
	for _, v := range []struct {
		unix int64
		code string
	}{
		{59, "94287082"}, {1111111109, "07081804"}, {1111111111, "14050471"},
		{1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"},
	} {
		at := time.Unix(v.unix, 0)
		got, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsEight, Algorithm: otp.AlgorithmSHA1})
		if err != nil || got != v.code {
			t.Errorf("T=%d: %q %v, want %s", v.unix, got, err, v.code)
		}
		six := v.code[2:]
		if c, _ := mfa.Code(secret, at); c != six {
			t.Errorf("T=%d: 6-digit code %q, want %s", v.unix, c, six)
		}
		step, ok := mfa.Match(secret, six, at)
		if !ok || step != v.unix/30 {
			t.Errorf("T=%d: Match = %d %v, want step %d", v.unix, step, ok, v.unix/30)
		}
		// One step either side is accepted and reported as its own step;
		// two steps away is not.
		if s, ok := mfa.Match(secret, six, at.Add(30*time.Second)); !ok || s != v.unix/30 {
			t.Errorf("T=%d +30s: %d %v", v.unix, s, ok)
		}
		if _, ok := mfa.Match(secret, six, at.Add(90*time.Second)); ok {
			t.Errorf("T=%d +90s: a code two steps old matched", v.unix)
		}
	}
	for _, bad := range []string{"", "12345", "1234567", "12a456", " 12345"} {
		if _, ok := mfa.Match(secret, bad, time.Unix(59, 0)); ok {
			t.Errorf("Match(%q) = true", bad)
		}
	}
}

func TestKeyURI(t *testing.T) {
	k, err := mfa.NewKey("Example", "u1")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(k.URL())
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" {
		t.Fatalf("%q %v", k.URL(), err)
	}
	q := u.Query()
	if q.Get("algorithm") != "SHA1" || q.Get("digits") != "6" || q.Get("period") != "30" || q.Get("secret") != k.Secret() {
		t.Errorf("otpauth URI %q lacks the RFC 6238 defaults", k.URL())
	}
	again, err := mfa.KeyURI("Example", "u1", k.Secret())
	if err != nil || again != k.URL() {
		t.Errorf("KeyURI = %q %v, want %q", again, err, k.URL())
	}
	if raw, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(k.Secret()); len(raw) != mfa.SecretSize {
		t.Errorf("secret is %d bytes", len(raw))
	}
}

func TestQRPNG(t *testing.T) {
	b, err := mfa.QRPNG("otpauth://totp/Warden:u1?secret=JBSWY3DPEHPK3PXP&issuer=Warden", 4)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	side := img.Bounds().Dx()
	// Versions have 21 + 4(v-1) modules, plus 8 of quiet zone, times 4.
	if side != img.Bounds().Dy() || (side/4-8-21)%4 != 0 {
		t.Fatalf("image is %v", img.Bounds())
	}
	dark := func(x, y int) bool { r, _, _, _ := img.At(x*4+1, y*4+1).RGBA(); return r < 0x8000 }
	// The top-left finder: a dark 7×7 ring after the quiet zone, light
	// ring inside it, dark 3×3 centre; the quiet zone light.
	if dark(0, 0) || !dark(4, 4) || !dark(10, 4) || dark(5, 5) || !dark(7, 7) {
		t.Error("no finder pattern where a QR code has one")
	}
}

type fixture struct {
	svc *mfa.Service
	now time.Time
	db  *sqlstore.DB
}

func newFixture(t *testing.T, db *sqlstore.DB) *fixture {
	t.Helper()
	dir := t.TempDir()
	box, err := sealed.OpenBox(dir, "box.key")
	if err != nil {
		t.Fatal(err)
	}
	mac, err := sealed.OpenMac(dir, "mac.key")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{now: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), db: db}
	f.svc = mfa.New(mfa.Options{DB: db, Box: box, Mac: mac, Now: func() time.Time { return f.now }, MaxFailures: 3, FailWindow: time.Minute})
	return f
}

func code(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := mfa.Code(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if warden.ErrorCode(err) != code {
		t.Fatalf("err = %v, want %s", err, code)
	}
}

func TestEnrolVerify(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		if st, _ := f.svc.Status(ctx, "u1"); st.Enabled || st.Pending || len(st.Methods) != 0 {
			t.Fatalf("before: %+v", st)
		}
		_, err := f.svc.Verify(ctx, "u1", "123456")
		wantCode(t, err, warden.EUNPROCESSABLE)
		e, err := f.svc.Begin(ctx, "u1", mfa.Prompt{Region: "JP", Moment: "after_login"})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(e.OtpauthURI, "secret="+e.Secret) {
			t.Fatalf("%+v", e)
		}
		// A second enrolment while one is pending is refused.
		_, err = f.svc.Begin(ctx, "u1", mfa.Prompt{})
		wantCode(t, err, warden.ECONFLICT)
		if uri, _ := f.svc.PendingURI(ctx, "u1"); uri != e.OtpauthURI {
			t.Errorf("PendingURI = %q", uri)
		}
		// The secret is sealed at rest.
		rec, _ := db.TOTP(ctx, "u1")
		if bytes.Contains(rec.SecretSealed, []byte(e.Secret)) {
			t.Error("the secret is stored in clear")
		}
		wrong := code(t, e.Secret, f.now.Add(-5*time.Minute))
		_, err = f.svc.Confirm(ctx, "u1", wrong)
		wantCode(t, err, warden.EUNPROCESSABLE)
		codes, err := f.svc.Confirm(ctx, "u1", code(t, e.Secret, f.now))
		if err != nil || len(codes) != 10 {
			t.Fatalf("confirm: %v %v", codes, err)
		}
		st, _ := f.svc.Status(ctx, "u1")
		if !st.Enabled || st.RecoveryCodesLeft != 10 || len(st.Methods) != 2 {
			t.Fatalf("after confirm: %+v", st)
		}
		// The code that confirmed is used; the next step's is accepted
		// once.
		_, err = f.svc.Verify(ctx, "u1", code(t, e.Secret, f.now))
		wantCode(t, err, warden.EUNPROCESSABLE)
		f.now = f.now.Add(30 * time.Second)
		c := code(t, e.Secret, f.now)
		if m, err := f.svc.Verify(ctx, "u1", c); err != nil || m != mfa.MethodTOTP {
			t.Fatalf("verify: %q %v", m, err)
		}
		_, err = f.svc.Verify(ctx, "u1", c)
		wantCode(t, err, warden.EUNPROCESSABLE)
		// A recovery code works once, in any case and spacing.
		rc := strings.ToUpper(strings.Replace(codes[3], "-", " ", 1))
		if m, err := f.svc.Verify(ctx, "u1", rc); err != nil || m != mfa.MethodRecovery {
			t.Fatalf("recovery: %q %v", m, err)
		}
		_, err = f.svc.Verify(ctx, "u1", codes[3])
		wantCode(t, err, warden.EUNPROCESSABLE)
		// Another user's code does not work for this one.
		if st, _ := f.svc.Status(ctx, "u1"); st.RecoveryCodesLeft != 9 {
			t.Errorf("left %d", st.RecoveryCodesLeft)
		}
		_, err = f.svc.Begin(ctx, "u1", mfa.Prompt{})
		wantCode(t, err, warden.ECONFLICT)
		funnel, err := f.svc.Funnel(ctx, f.now.Add(-time.Hour), f.now.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if funnel.Total.Started != 1 || funnel.Total.Confirmed != 1 || funnel.ByRegion["JP"].Confirmed != 1 || funnel.ByMoment["after_login"].Started != 1 {
			t.Errorf("funnel %+v", funnel)
		}
	})
}

func TestRateLimit(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		e, err := f.svc.Begin(ctx, "u2", mfa.Prompt{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Confirm(ctx, "u2", code(t, e.Secret, f.now)); err != nil {
			t.Fatal(err)
		}
		f.now = f.now.Add(time.Minute)
		for i := range 2 {
			_, err := f.svc.Verify(ctx, "u2", "000000")
			wantCode(t, err, warden.EUNPROCESSABLE)
			_ = i
		}
		_, err = f.svc.Verify(ctx, "u2", "000000")
		var rl *mfa.RateLimited
		if !errors.As(err, &rl) || rl.RetryAfterSeconds() != 60 || warden.ErrorCode(err) != warden.ERATELIMIT {
			t.Fatalf("third failure: %v", err)
		}
		// Locked: even the right code is refused until the window ends.
		f.now = f.now.Add(20 * time.Second)
		_, err = f.svc.Verify(ctx, "u2", code(t, e.Secret, f.now))
		if !errors.As(err, &rl) || rl.RetryAfterSeconds() != 40 {
			t.Fatalf("locked: %v", err)
		}
		f.now = f.now.Add(41 * time.Second)
		if _, err := f.svc.Verify(ctx, "u2", code(t, e.Secret, f.now)); err != nil {
			t.Fatalf("after the window: %v", err)
		}
	})
}

func TestBadInput(t *testing.T) {
	f := newFixture(t, sqlstoretest.SQLite(t))
	ctx := context.Background()
	for _, p := range []mfa.Prompt{{Region: "GB"}, {Moment: "After Login"}, {Variant: strings.Repeat("a", 41)}} {
		_, err := f.svc.Begin(ctx, "u3", p)
		wantCode(t, err, warden.EINVALID)
	}
	_, err := f.svc.Begin(ctx, "", mfa.Prompt{})
	wantCode(t, err, warden.EINVALID)
	_, err = f.svc.Confirm(ctx, "u3", "")
	wantCode(t, err, warden.EINVALID)
	_, err = f.svc.Confirm(ctx, "u3", "123456")
	wantCode(t, err, warden.ECONFLICT)
	if rec, _ := f.db.TOTP(ctx, "u3"); rec != nil {
		t.Errorf("refused input stored %+v", rec)
	}
	err = f.svc.RecordPrompts(ctx, []mfa.FunnelEvent{{Stage: "shown"}, {Stage: "confirmed"}})
	wantCode(t, err, warden.EINVALID)
	if fn, _ := f.svc.Funnel(ctx, time.Time{}, f.now.Add(time.Hour)); fn.Total.Shown != 0 {
		t.Error("a refused batch was partly stored")
	}
}
