package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/wardenhq/warden"
)

// Partner is a partner platform this server imports feeds from.
type Partner struct {
	Name      string        `db:"name" json:"name"`
	PublicKey string        `db:"public_key" json:"public_key"`
	CreatedAt warden.Micros `db:"created_us" json:"-"`
	// Trust and Listed are those of the last import (empty, 0 before).
	Trust  string `db:"trust" json:"trust,omitempty"`
	Listed int    `db:"listed" json:"listed"`
}

// AddPartner registers partner with the public key its feeds are signed
// with, or replaces the key of a partner registered already.
func (db *DB) AddPartner(ctx context.Context, name, publicKey string) error {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 200 {
		return warden.FieldErrorf("name", "a partner's name is 1..200 bytes")
	}
	_, err := db.ExecContext(ctx, `INSERT INTO partners (name, public_key, created_us) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET public_key = excluded.public_key`, name, publicKey, Now())
	return err
}

// Partners lists the registered partners, by name.
func (db *DB) Partners(ctx context.Context) ([]Partner, error) {
	var out []Partner
	// 25 bytes a listed indicator (partner.Lists.Pack).
	err := db.Reader.SelectContext(ctx, &out, `SELECT p.name, p.public_key, p.created_us, COALESCE(l.trust, '') AS trust,
		COALESCE(LENGTH(l.indicators), 0) / 25 AS listed
		FROM partners p LEFT JOIN partner_lists l ON l.partner = p.name ORDER BY p.name`)
	return out, err
}

// PartnerKey returns partner's registered public key, or ENOTFOUND.
func (db *DB) PartnerKey(ctx context.Context, partner string) (string, error) {
	var k string
	err := db.Reader.GetContext(ctx, &k, `SELECT public_key FROM partners WHERE name = $1`, partner)
	if errors.Is(err, sql.ErrNoRows) {
		return "", warden.Errorf(warden.ENOTFOUND, "no partner %q is registered", partner)
	}
	return k, err
}

// SavePartnerList keeps the list imported from partner.
func (db *DB) SavePartnerList(ctx context.Context, partner, trust string, packed []byte, at time.Time) error {
	if packed == nil {
		packed = []byte{}
	}
	_, err := db.ExecContext(ctx, `INSERT INTO partner_lists (partner, trust, indicators, imported_us) VALUES ($1, $2, $3, $4)
		ON CONFLICT (partner) DO UPDATE SET trust = excluded.trust, indicators = excluded.indicators, imported_us = excluded.imported_us`,
		partner, trust, packed, warden.MicrosOf(at))
	return err
}

// PartnerLists calls fn with each stored list and when it was imported.
func (db *DB) PartnerLists(ctx context.Context, fn func(partner, trust string, packed []byte, importedUS int64) error) error {
	rows, err := db.Reader.QueryContext(ctx, `SELECT partner, trust, indicators, imported_us FROM partner_lists ORDER BY partner`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var p, t string
		var b []byte
		var at int64
		if err := rows.Scan(&p, &t, &b, &at); err != nil {
			return err
		}
		if err := fn(p, t, b, at); err != nil {
			return err
		}
	}
	return rows.Err()
}

// PartnerListStamps returns when each stored list was imported, by
// partner.
func (db *DB) PartnerListStamps(ctx context.Context) (map[string]int64, error) {
	rows, err := db.Reader.QueryContext(ctx, `SELECT partner, imported_us FROM partner_lists`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var p string
		var at int64
		if err := rows.Scan(&p, &at); err != nil {
			return nil, err
		}
		out[p] = at
	}
	return out, rows.Err()
}

// partnerRestrictions are the decisions that make an account a confirmed
// bad actor whose indicators a partner feed may carry.
var partnerRestrictions = []string{warden.ActRestrict, warden.ActSuspendAccount, warden.ActBanAccount}

// Confirmed calls fn with each account restricted by a decision not
// reversed (restrict, suspend_account, ban_account), when it was first so
// restricted, and the body of each of its logged events, one account's
// events together.
func (db *DB) Confirmed(ctx context.Context, fn func(account string, at time.Time, event []byte) error) error {
	rows, err := db.Reader.QueryContext(ctx, `SELECT d.subject_id, d.at, e.body FROM
		(SELECT subject_id, MIN(decided_us) AS at FROM incident_decisions
		 WHERE subject_kind = 'account' AND reversed_us = 0 AND action IN ($1, $2, $3) GROUP BY subject_id) d
		JOIN events e ON e.actor = d.subject_id ORDER BY d.subject_id`,
		partnerRestrictions[0], partnerRestrictions[1], partnerRestrictions[2])
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var acc, body string
		var at warden.Micros
		if err := rows.Scan(&acc, &at, &body); err != nil {
			return err
		}
		if err := fn(acc, at.Time(), []byte(body)); err != nil {
			return err
		}
	}
	return rows.Err()
}
