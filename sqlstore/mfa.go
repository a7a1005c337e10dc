package sqlstore

import (
	"context"
	"fmt"
)

// TOTPRecord is one platform user's TOTP enrolment. SecretSealed is the
// secret sealed by the caller (the store never sees it in clear).
type TOTPRecord struct {
	UserID       string `db:"user_id"`
	SecretSealed []byte `db:"secret_sealed"`
	Status       string `db:"status"` // TOTPPending or TOTPEnabled
	Region       string `db:"region"`
	Moment       string `db:"moment"`
	CreatedUS    int64  `db:"created_us"`
	ConfirmedUS  int64  `db:"confirmed_us"`
	LastStep     int64  `db:"last_step"`
	Fails        int    `db:"fails"`
	FailSinceUS  int64  `db:"fail_since_us"`
}

// TOTP enrolment states.
const (
	TOTPPending = "pending"
	TOTPEnabled = "enabled"
)

const totpCols = "user_id, secret_sealed, status, region, moment, created_us, confirmed_us, last_step, fails, fail_since_us"

// TOTP returns a user's enrolment, or nil.
func (db *DB) TOTP(ctx context.Context, user string) (*TOTPRecord, error) {
	return getOne[TOTPRecord](ctx, db.DB, "SELECT "+totpCols+" FROM mfa_totp WHERE user_id = $1", user)
}

// BeginTOTP stores a pending enrolment. It replaces a pending one created
// before staleBefore (an enrolment abandoned half-way) and nothing else: it
// reports false, changing nothing, when the user has 2FA on or an enrolment
// under way.
func (db *DB) BeginTOTP(ctx context.Context, r *TOTPRecord, staleBefore int64) (bool, error) {
	res, err := db.ExecContext(ctx, `INSERT INTO mfa_totp (user_id, secret_sealed, status, region, moment, created_us) VALUES ($1, $2, 'pending', $3, $4, $5)
		ON CONFLICT (user_id) DO UPDATE SET secret_sealed = excluded.secret_sealed, region = excluded.region, moment = excluded.moment,
			created_us = excluded.created_us, last_step = 0, fails = 0, fail_since_us = 0
		WHERE mfa_totp.status = 'pending' AND mfa_totp.created_us < $6`,
		r.UserID, r.SecretSealed, r.Region, r.Moment, r.CreatedUS, staleBefore)
	if err != nil {
		return false, fmt.Errorf("begin totp: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ConfirmTOTP turns a pending enrolment on, records step as the last code
// used, and stores the recovery codes' hashes (replacing any earlier ones),
// all in one transaction. It reports false, changing nothing, when there is
// no pending enrolment created at createdUS (another request confirmed or
// replaced it meanwhile).
func (db *DB) ConfirmTOTP(ctx context.Context, user string, createdUS, step int64, codeHashes []string, now int64) (bool, error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE mfa_totp SET status = 'enabled', confirmed_us = $1, last_step = $2, fails = 0, fail_since_us = 0
		WHERE user_id = $3 AND status = 'pending' AND created_us = $4`, now, step, user, createdUS)
	if err != nil {
		return false, fmt.Errorf("confirm totp: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM mfa_recovery_codes WHERE user_id = $1", user); err != nil {
		return false, err
	}
	for _, h := range codeHashes {
		if _, err := tx.ExecContext(ctx, "INSERT INTO mfa_recovery_codes (user_id, code_hash) VALUES ($1, $2)", user, h); err != nil {
			return false, fmt.Errorf("store recovery code: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("commit: %w", err)
	}
	return true, nil
}

// AcceptTOTPStep records step as the user's last accepted time step, when it
// is later than the one before: false means the code was already used (or a
// later one was), or 2FA is not on. Two requests with one code cannot both
// get true.
func (db *DB) AcceptTOTPStep(ctx context.Context, user string, step int64) (bool, error) {
	ok, err := db.AcceptTOTPSteps(ctx, []TOTPStep{{User: user, Step: step}})
	if err != nil {
		return false, err
	}
	return ok[0], nil
}

// TOTPStep is one accepted TOTP code to record: the user and the code's
// time step.
type TOTPStep struct {
	User string
	Step int64
}

// AcceptTOTPSteps is AcceptTOTPStep for many users' codes in one durable
// transaction (group commit): ok[i] says whether steps[i] was newer than
// its user's last accepted step. Two steps of one user in one call are
// taken in order, so a replay within the batch is refused too.
func (db *DB) AcceptTOTPSteps(ctx context.Context, steps []TOTPStep) ([]bool, error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("accept totp steps: %w", err)
	}
	defer tx.Rollback()
	ok := make([]bool, len(steps))
	for i, st := range steps {
		res, err := tx.ExecContext(ctx, "UPDATE mfa_totp SET last_step = $1, fails = 0, fail_since_us = 0 WHERE user_id = $2 AND status = 'enabled' AND last_step < $1", st.Step, st.User)
		if err != nil {
			return nil, fmt.Errorf("accept totp step: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return nil, fmt.Errorf("accept totp step: %w", err)
		}
		ok[i] = n == 1
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("accept totp steps: %w", err)
	}
	return ok, nil
}

// UseRecoveryCode marks the user's unused code with hash used: false means
// there is no such unused code.
func (db *DB) UseRecoveryCode(ctx context.Context, user, hash string, now int64) (bool, error) {
	res, err := db.ExecContext(ctx, "UPDATE mfa_recovery_codes SET used_us = $1 WHERE user_id = $2 AND code_hash = $3 AND used_us = 0", now, user, hash)
	if err != nil {
		return false, fmt.Errorf("use recovery code: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil || n != 1 {
		return false, err
	}
	_, err = db.ExecContext(ctx, "UPDATE mfa_totp SET fails = 0, fail_since_us = 0 WHERE user_id = $1", user)
	return true, err
}

// RecordTOTPFailure counts a wrong code against the user: failures within
// window of the first one add up; an older count starts over. It returns
// the count and when it started.
func (db *DB) RecordTOTPFailure(ctx context.Context, user string, now, window int64) (fails int, sinceUS int64, err error) {
	var r struct {
		Fails int   `db:"fails"`
		Since int64 `db:"fail_since_us"`
	}
	err = db.GetContext(ctx, &r, `UPDATE mfa_totp SET
			fails = CASE WHEN fail_since_us <= $1 THEN 1 ELSE fails + 1 END,
			fail_since_us = CASE WHEN fail_since_us <= $1 THEN $2 ELSE fail_since_us END
		WHERE user_id = $3 RETURNING fails, fail_since_us`, now-window, now, user)
	if err != nil {
		return 0, 0, fmt.Errorf("record totp failure: %w", err)
	}
	return r.Fails, r.Since, nil
}

// RecoveryCodesLeft counts the user's unused recovery codes.
func (db *DB) RecoveryCodesLeft(ctx context.Context, user string) (int, error) {
	var n int
	err := db.Reader.GetContext(ctx, &n, "SELECT COUNT(*) FROM mfa_recovery_codes WHERE user_id = $1 AND used_us = 0", user)
	return n, err
}

// FunnelEvent is one step of the 2FA education funnel, without the user.
type FunnelEvent struct {
	Stage   string `db:"stage"`
	Region  string `db:"region"`
	Moment  string `db:"moment"`
	Variant string `db:"variant"`
	AtUS    int64  `db:"at_us"`
}

// AddFunnelEvents stores funnel events.
func (db *DB) AddFunnelEvents(ctx context.Context, evs []FunnelEvent) error {
	if len(evs) == 0 {
		return nil
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	for _, e := range evs {
		if _, err := tx.ExecContext(ctx, "INSERT INTO mfa_funnel (stage, region, moment, variant, at_us) VALUES ($1, $2, $3, $4, $5)", e.Stage, e.Region, e.Moment, e.Variant, e.AtUS); err != nil {
			return fmt.Errorf("insert funnel event: %w", err)
		}
	}
	return tx.Commit()
}

// FunnelCount is how many funnel events of one stage, region, moment and
// variant happened in one ISO week (Week is the number of weeks since the
// Monday 1969-12-29).
type FunnelCount struct {
	Stage   string `db:"stage"`
	Region  string `db:"region"`
	Moment  string `db:"moment"`
	Variant string `db:"variant"`
	Week    int64  `db:"week"`
	N       int64  `db:"n"`
}

// FunnelCounts counts funnel events with from <= at < to.
func (db *DB) FunnelCounts(ctx context.Context, fromUS, toUS int64) ([]FunnelCount, error) {
	var out []FunnelCount
	// 86400000000 µs a day; day 0 (1970-01-01) was a Thursday, so +3 makes
	// weeks start on Mondays.
	err := db.Reader.SelectContext(ctx, &out, `SELECT stage, region, moment, variant, (at_us / 86400000000 + 3) / 7 AS week, COUNT(*) AS n
		FROM mfa_funnel WHERE at_us >= $1 AND at_us < $2
		GROUP BY stage, region, moment, variant, (at_us / 86400000000 + 3) / 7
		ORDER BY week, stage, region, moment, variant`, fromUS, toUS)
	return out, err
}
