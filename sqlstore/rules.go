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
