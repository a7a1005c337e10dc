package sqlstore

import (
	"context"

	"github.com/wardenhq/warden"
)

// RuleModes returns the modes set in the console, by rule name.
func (db *DB) RuleModes(ctx context.Context) (map[string]string, error) {
	rows, err := db.Reader.QueryContext(ctx, "SELECT rule, mode FROM rule_modes")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var r, m string
		if err := rows.Scan(&r, &m); err != nil {
			return nil, err
		}
		out[r] = m
	}
	return out, rows.Err()
}

// SetRuleMode records that by set rule's mode at at.
func (db *DB) SetRuleMode(ctx context.Context, rule, mode, by string, at warden.Micros) error {
	_, err := db.ExecContext(ctx, `INSERT INTO rule_modes (rule, mode, set_by, set_us) VALUES ($1, $2, $3, $4)
		ON CONFLICT (rule) DO UPDATE SET mode = excluded.mode, set_by = excluded.set_by, set_us = excluded.set_us`, rule, mode, by, at)
	return err
}

// BreakerRearm is an admin's re-arm of a rule's circuit breaker, applied
// from event time At on.
type BreakerRearm struct {
	Rule      string        `db:"rule"`
	At        warden.Micros `db:"at_us"`
	By        string        `db:"rearmed_by"`
	RearmedAt warden.Micros `db:"rearmed_us"`
}

// AddBreakerRearm records a re-arm.
func (db *DB) AddBreakerRearm(ctx context.Context, r BreakerRearm) error {
	if r.Rule == "" || r.By == "" {
		return warden.Errorf(warden.EINVALID, "a re-arm names its rule and who re-armed it")
	}
	_, err := db.ExecContext(ctx, `INSERT INTO rule_breaker_rearms (rule, at_us, rearmed_by, rearmed_us) VALUES ($1, $2, $3, $4)`,
		r.Rule, r.At, r.By, r.RearmedAt)
	return err
}

// BreakerRearms returns every re-arm, oldest first.
func (db *DB) BreakerRearms(ctx context.Context) ([]BreakerRearm, error) {
	var out []BreakerRearm
	err := db.Reader.SelectContext(ctx, &out, "SELECT rule, at_us, rearmed_by, rearmed_us FROM rule_breaker_rearms ORDER BY id")
	return out, err
}
