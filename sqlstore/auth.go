package sqlstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wardenhq/warden"
	"golang.org/x/crypto/argon2"
)

// keyPrefix starts every API key, so that a leaked key is easy to recognise
// in logs and by secret scanners.
const keyPrefix = "wdn_"

// The store's names for the root's domain types.
type (
	APIKey  = warden.APIKey
	User    = warden.User
	Session = warden.Session
)

func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// HashToken is how keys and session tokens are stored. They carry 192+ bits
// of randomness, so a fast hash is enough: no password-style stretching.
func HashToken(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

// CreateKey makes a new API key with role and returns its secret, which is
// shown once and never stored.
func (db *DB) CreateKey(ctx context.Context, role, name string) (secret string, key APIKey, err error) {
	if !warden.ValidRole(role) {
		return "", key, warden.Errorf(warden.EINVALID, "unknown role %q: use one of %s", role, strings.Join(warden.Roles, ", "))
	}
	secret = keyPrefix + randomToken(32)
	key = APIKey{ID: "key_" + randomToken(9), Name: name, Role: role, CreatedUS: Now()}
	if key.Name == "" {
		key.Name = role
	}
	_, err = db.ExecContext(ctx, `INSERT INTO api_keys (id, name, role, hash, created_us) VALUES ($1, $2, $3, $4, $5)`,
		key.ID, key.Name, key.Role, HashToken(secret), key.CreatedUS)
	if err != nil {
		return "", key, fmt.Errorf("create key: %w", err)
	}
	return secret, key, nil
}

// KeyBySecret returns the live key whose secret is s.
func (db *DB) KeyBySecret(ctx context.Context, s string) (APIKey, error) {
	var k APIKey
	if !strings.HasPrefix(s, keyPrefix) {
		return k, warden.Errorf(warden.EUNAUTHORIZED, "the API key is not valid")
	}
	err := db.Reader.GetContext(ctx, &k, `SELECT id, name, role, created_us, revoked_us FROM api_keys WHERE hash = $1 AND revoked_us IS NULL`, HashToken(s))
	if errors.Is(err, sql.ErrNoRows) {
		return k, warden.Errorf(warden.EUNAUTHORIZED, "the API key is not valid or was revoked")
	}
	return k, err
}

// ListKeys returns every key, revoked ones included, oldest first.
func (db *DB) ListKeys(ctx context.Context) ([]APIKey, error) {
	var ks []APIKey
	err := db.Reader.SelectContext(ctx, &ks, `SELECT id, name, role, created_us, revoked_us FROM api_keys ORDER BY created_us, id`)
	return ks, err
}

// RevokeKey revokes the key with id.
func (db *DB) RevokeKey(ctx context.Context, id string) error {
	res, err := db.ExecContext(ctx, `UPDATE api_keys SET revoked_us = $1 WHERE id = $2 AND revoked_us IS NULL`, Now(), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return warden.Errorf(warden.ENOTFOUND, "no live key %q", id)
	}
	return nil
}

// MinPasswordLen is the shortest password a console user may have.
const MinPasswordLen = 12

// argon2id parameters (RFC 9106 §4, second recommendation, with p=2 for a
// small machine): 64 MiB, 3 passes.
const (
	argonTime    = 3
	argonMemory  = 64 << 10
	argonThreads = 2
	argonKeyLen  = 32
)

// HashPassword returns the argon2id hash of pw in PHC string format.
func HashPassword(pw string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	h := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(h))
}

// CheckPassword reports whether pw matches the PHC-format argon2id hash.
func CheckPassword(hash, pw string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// CreateUser adds a console user.
func (db *DB) CreateUser(ctx context.Context, username, password, role string) (User, error) {
	u := User{ID: "usr_" + randomToken(9), Username: strings.TrimSpace(username), Role: role, CreatedUS: Now()}
	switch {
	case u.Username == "" || len(u.Username) > 64:
		return u, warden.FieldErrorf("username", "a username is 1..64 characters")
	case !warden.ValidUserRole(role):
		return u, warden.FieldErrorf("role", "%q is not a console user's role: use one of %s", role, strings.Join(warden.UserRoles, ", "))
	case len(password) < MinPasswordLen:
		return u, warden.FieldErrorf("password", "a password has at least %d characters", MinPasswordLen)
	}
	u.PasswordHash = HashPassword(password)
	_, err := db.ExecContext(ctx, `INSERT INTO users (id, username, password_hash, role, created_us) VALUES ($1, $2, $3, $4, $5)`,
		u.ID, u.Username, u.PasswordHash, u.Role, u.CreatedUS)
	if err != nil && strings.Contains(strings.ToLower(err.Error()), "unique") {
		return u, warden.FieldErrorf("username", "user %q exists already", u.Username)
	}
	return u, err
}

// CountUsers returns how many console users exist.
func (db *DB) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := db.Reader.GetContext(ctx, &n, `SELECT COUNT(*) FROM users`)
	return n, err
}

// dummyHash is checked when a username does not exist, so that a wrong
// username costs the same time as a wrong password.
var dummyHash = HashPassword("not a real password, only for timing")

// CheckLogin returns the enabled user with username and password.
func (db *DB) CheckLogin(ctx context.Context, username, password string) (User, error) {
	var u User
	err := db.Reader.GetContext(ctx, &u, `SELECT * FROM users WHERE username = $1 AND disabled_us IS NULL`, strings.TrimSpace(username))
	if errors.Is(err, sql.ErrNoRows) {
		CheckPassword(dummyHash, password)
		return u, warden.Errorf(warden.EUNAUTHORIZED, "wrong username or password")
	} else if err != nil {
		return u, err
	}
	if !CheckPassword(u.PasswordHash, password) {
		return u, warden.Errorf(warden.EUNAUTHORIZED, "wrong username or password")
	}
	return u, nil
}

// SessionTTL is how long a console session lasts.
const SessionTTL = 12 * time.Hour

// CreateSession starts a session for u and returns its cookie token.
func (db *DB) CreateSession(ctx context.Context, u User) (token string, s Session, err error) {
	token = randomToken(32)
	s = Session{User: u, CSRF: randomToken(24), ExpiresUS: time.Now().Add(SessionTTL).UnixMicro()}
	_, err = db.ExecContext(ctx, `INSERT INTO sessions (hash, user_id, csrf, created_us, expires_us) VALUES ($1, $2, $3, $4, $5)`,
		HashToken(token), u.ID, s.CSRF, Now(), s.ExpiresUS)
	return token, s, err
}

// SessionByToken returns the live session whose cookie token is tok.
func (db *DB) SessionByToken(ctx context.Context, tok string) (Session, error) {
	var row struct {
		User
		CSRF      string `db:"csrf"`
		ExpiresUS int64  `db:"expires_us"`
	}
	err := db.Reader.GetContext(ctx, &row, `SELECT u.*, s.csrf, s.expires_us FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.hash = $1 AND s.expires_us > $2 AND u.disabled_us IS NULL`, HashToken(tok), Now())
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, warden.Errorf(warden.EUNAUTHORIZED, "the session expired: sign in again")
	}
	return Session{User: row.User, CSRF: row.CSRF, ExpiresUS: row.ExpiresUS}, err
}

// DeleteSession ends the session with token tok, and any expired ones.
func (db *DB) DeleteSession(ctx context.Context, tok string) error {
	_, err := db.ExecContext(ctx, `DELETE FROM sessions WHERE hash = $1 OR expires_us < $2`, HashToken(tok), Now())
	return err
}

// UserByName returns the console user with username, or ENOTFOUND.
func (db *DB) UserByName(ctx context.Context, username string) (User, error) {
	var u User
	err := db.Reader.GetContext(ctx, &u, `SELECT id, username, password_hash, role, totp_secret, created_us, disabled_us FROM users WHERE username = $1`, username)
	if errors.Is(err, sql.ErrNoRows) {
		return u, warden.Errorf(warden.ENOTFOUND, "no console user %q", username)
	}
	return u, err
}
