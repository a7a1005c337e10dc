package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/wardenhq/warden/messaging"
)

// MessageExperiments lists the stored messaging experiments, by id.
func (db *DB) MessageExperiments(ctx context.Context) ([]messaging.Experiment, error) {
	var rows []struct {
		ID   string `db:"id"`
		Body string `db:"body"`
	}
	if err := db.Reader.SelectContext(ctx, &rows, `SELECT id, body FROM message_experiments ORDER BY id`); err != nil {
		return nil, err
	}
	out := make([]messaging.Experiment, len(rows))
	for i, r := range rows {
		if err := json.Unmarshal([]byte(r.Body), &out[i]); err != nil {
			return nil, fmt.Errorf("messaging experiment %s: %w", r.ID, err)
		}
	}
	return out, nil
}

// SaveMessageExperiment stores e, replacing the stored experiment of its
// id, and reports whether it is new.
func (db *DB) SaveMessageExperiment(ctx context.Context, e messaging.Experiment, by string) (bool, error) {
	body, err := json.Marshal(e)
	if err != nil {
		return false, err
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE message_experiments SET body = $2, updated_by = $3, updated_us = $4 WHERE id = $1`, e.ID, string(body), by, Now())
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	if n == 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO message_experiments (id, body, updated_by, updated_us) VALUES ($1, $2, $3, $4)`, e.ID, string(body), by, Now()); err != nil {
			return false, err
		}
	}
	return n == 0, tx.Commit()
}
