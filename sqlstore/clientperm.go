package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"
	"github.com/wardenhq/warden/clientperm"
)

// permissionBatch is how many records one INSERT carries (10 parameters
// each, under both databases' limits).
const permissionBatch = 1000

var _ clientperm.Store = (*DB)(nil)

// PutClientManifest replaces the manifest of m.AppVersion, its JSON and its
// declared uses, in one transaction.
func (db *DB) PutClientManifest(ctx context.Context, m clientperm.Manifest, by string, atUS int64) error {
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM client_manifest_uses WHERE app_version = $1`, m.AppVersion); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO client_manifests (app_version, body, updated_by, updated_us) VALUES ($1, $2, $3, $4)
		ON CONFLICT (app_version) DO UPDATE SET body = excluded.body, updated_by = excluded.updated_by, updated_us = excluded.updated_us`,
		m.AppVersion, string(body), by, atUS); err != nil {
		return err
	}
	for _, f := range m.Features {
		for _, u := range f.Permissions {
			if _, err := tx.ExecContext(ctx, `INSERT INTO client_manifest_uses (app_version, feature, permission, trigger_kind) VALUES ($1, $2, $3, $4)`,
				m.AppVersion, f.Feature, u.Permission, u.Trigger); err != nil {
				return err
			}
		}
	}
	return tx.Commit()
}

// ClientManifest returns the manifest of appVersion, or ok false.
func (db *DB) ClientManifest(ctx context.Context, appVersion string) (clientperm.Manifest, bool, error) {
	var body string
	err := db.Reader.GetContext(ctx, &body, `SELECT body FROM client_manifests WHERE app_version = $1`, appVersion)
	if errors.Is(err, sql.ErrNoRows) {
		return clientperm.Manifest{}, false, nil
	} else if err != nil {
		return clientperm.Manifest{}, false, err
	}
	var m clientperm.Manifest
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		return clientperm.Manifest{}, false, fmt.Errorf("stored manifest of %s: %w", appVersion, err)
	}
	return m, true, nil
}

// ClientManifests returns the manifests of those of appVersions that have
// one.
func (db *DB) ClientManifests(ctx context.Context, appVersions []string) (map[string]clientperm.Manifest, error) {
	out := map[string]clientperm.Manifest{}
	if len(appVersions) == 0 {
		return out, nil
	}
	ph := make([]string, len(appVersions))
	args := make([]any, len(appVersions))
	for i, v := range appVersions {
		ph[i], args[i] = fmt.Sprintf("$%d", i+1), v
	}
	q := `SELECT app_version, body FROM client_manifests WHERE app_version IN (` + strings.Join(ph, ", ") + `)`
	var rows []struct {
		AppVersion string `db:"app_version"`
		Body       string `db:"body"`
	}
	if err := db.Reader.SelectContext(ctx, &rows, q, args...); err != nil {
		return nil, err
	}
	for _, r := range rows {
		var m clientperm.Manifest
		if err := json.Unmarshal([]byte(r.Body), &m); err != nil {
			return nil, fmt.Errorf("stored manifest of %s: %w", r.AppVersion, err)
		}
		out[r.AppVersion] = m
	}
	return out, nil
}

// AddPermissionRecords stores recs in one transaction, committed durably
// before it returns: all of them or, on any error, none. It sorts recs by
// day and pseudonym, the user index's order, so that a batch's inserts
// into it are close together.
func (db *DB) AddPermissionRecords(ctx context.Context, recs []clientperm.StoredRecord) error {
	if len(recs) == 0 {
		return nil
	}
	slices.SortFunc(recs, func(a, b clientperm.StoredRecord) int {
		return cmp.Or(cmp.Compare(dayOf(a.TimeUS), dayOf(b.TimeUS)), strings.Compare(a.UserHash, b.UserHash), cmp.Compare(a.TimeUS, b.TimeUS))
	})
	if db.Dialect == Postgres && len(recs) >= copyMin {
		return db.copyPermissionRecords(ctx, recs)
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// Pseudonyms are stored as their 16 bytes, not their hex: both the
	// rows and the user index are the smaller for it.
	hashes := make([][]byte, len(recs))
	for i := range recs {
		h, err := hex.DecodeString(recs[i].UserHash)
		if err != nil {
			return fmt.Errorf("sqlstore: pseudonym %q is not hex", recs[i].UserHash)
		}
		hashes[i] = h
	}
	var full *sql.Stmt
	args := make([]any, 0, len(permissionCols)*permissionBatch)
	for start := 0; start < len(recs); start += permissionBatch {
		part := recs[start:min(start+permissionBatch, len(recs))]
		args = args[:0]
		for k, r := range part {
			code, err := permCode(r.Permission)
			if err != nil {
				return err
			}
			args = append(args, hashes[start+k], r.AppVersion, code, r.Feature, r.Trigger == clientperm.TriggerUserGesture, r.Foreground, r.Count, r.TimeUS, r.ReceivedUS, r.Declared, dayOf(r.TimeUS))
		}
		if len(part) == permissionBatch {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, db.permissionInsert(permissionBatch)); err != nil {
					return err
				}
				defer full.Close()
			}
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, db.permissionInsert(len(part)), args...)
		}
		if err != nil {
			return err
		}
	}
	for v, at := range versionsOf(recs) {
		if _, err := tx.ExecContext(ctx, upsertAppVersion, v, at); err != nil {
			return err
		}
	}
	return tx.Commit()
}

const upsertAppVersion = `INSERT INTO client_app_versions (app_version, last_us) VALUES ($1, $2)
	ON CONFLICT (app_version) DO UPDATE SET last_us = CASE WHEN excluded.last_us > client_app_versions.last_us THEN excluded.last_us ELSE client_app_versions.last_us END`

// versionsOf maps the app versions of recs to their latest received time.
func versionsOf(recs []clientperm.StoredRecord) map[string]int64 {
	out := map[string]int64{}
	for _, r := range recs {
		if at, ok := out[r.AppVersion]; !ok || r.ReceivedUS > at {
			out[r.AppVersion] = r.ReceivedUS
		}
	}
	return out
}

// permissionCols are the columns a record is written to, in order.
var permissionCols = []string{"user_hash", "app_version", "perm", "feature", "gesture", "foreground", "reads", "time_us", "received_us", "declared", "day"}

// permCodes are the permissions' codes in client_permission_records.perm
// (the migration lists them); never renumber one.
var permCodes = map[string]int16{clientperm.Clipboard: 1, clientperm.Contacts: 2, clientperm.Location: 3, clientperm.Camera: 4, clientperm.Microphone: 5, clientperm.Photos: 6}

// permName and triggerName turn the stored codes back into the contract's
// words inside the query, so that rows scan as they read.
var (
	permName    = permNameSQL()
	triggerName = `CASE WHEN gesture THEN '` + clientperm.TriggerUserGesture + `' ELSE '` + clientperm.TriggerProgrammatic + `' END`
)

func permNameSQL() string {
	var sb strings.Builder
	sb.WriteString("CASE perm")
	for _, p := range clientperm.Permissions {
		fmt.Fprintf(&sb, " WHEN %d THEN '%s'", permCodes[p], p)
	}
	sb.WriteString(" END")
	return sb.String()
}

// permCode is p's code; an unknown permission is an error, never a row.
func permCode(p string) (int16, error) {
	c, ok := permCodes[p]
	if !ok {
		return 0, fmt.Errorf("sqlstore: unknown permission %q", p)
	}
	return c, nil
}

// usPerDay is the length of a day bucket of the user index.
const usPerDay = 86_400_000_000

// firstDay is the earliest day a record may fall on (records before 2000
// are refused): 2000-01-01.
const firstDay = 10957

func dayOf(us int64) int64 {
	if us < 0 {
		return (us - usPerDay + 1) / usPerDay
	}
	return us / usPerDay
}

// daysIn is the SQL list of the days [fromUS, toUS) covers that hold
// records, for an IN: integers this code computed, never input text.
func daysIn(ctx context.Context, q sqlx.QueryerContext, fromUS, toUS int64) (string, error) {
	var span struct {
		Lo sql.NullInt64 `db:"lo"`
		Hi sql.NullInt64 `db:"hi"`
	}
	// Both ends of the user index: two descents of its b-tree.
	if err := sqlx.GetContext(ctx, q, &span, `SELECT MIN(day) AS lo, MAX(day) AS hi FROM client_permission_records`); err != nil {
		return "", err
	}
	if !span.Lo.Valid {
		return "NULL", nil
	}
	lo, hi := max(dayOf(fromUS), firstDay, span.Lo.Int64), min(dayOf(toUS-1), span.Hi.Int64)
	if hi < lo {
		return "NULL", nil
	}
	var sb strings.Builder
	for d := lo; d <= hi; d++ {
		if d > lo {
			sb.WriteByte(',')
		}
		sb.WriteString(strconv.FormatInt(d, 10))
	}
	return sb.String(), nil
}

// permissionInsert is the multi-row insert of n records; on SQLite with
// anonymous placeholders (see EventLog.insertSQL).
func (db *DB) permissionInsert(n int) string {
	rows := valueRows(n, len(permissionCols))
	verb := "INSERT"
	if db.Dialect == SQLite {
		rows = anonymous(rows)
		// A failed row rolls the whole transaction back, which the batch
		// wants anyway, and spares SQLite the statement journal a
		// multi-row INSERT otherwise writes to undo just the statement.
		verb = "INSERT OR ROLLBACK"
	}
	return verb + " INTO client_permission_records (" + strings.Join(permissionCols, ", ") + ") VALUES " + rows
}

// copyPermissionRecords writes recs on PostgreSQL with COPY, in one
// transaction.
func (db *DB) copyPermissionRecords(ctx context.Context, recs []clientperm.StoredRecord) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("sqlstore: COPY needs a pgx connection, not %T", dc)
		}
		tx, err := sc.Conn().Begin(ctx)
		if err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		defer tx.Rollback(ctx)
		i := 0
		src := pgx.CopyFromFunc(func() ([]any, error) {
			if i == len(recs) {
				return nil, nil
			}
			r := &recs[i]
			i++
			h, err := hex.DecodeString(r.UserHash)
			if err != nil {
				return nil, fmt.Errorf("sqlstore: pseudonym %q is not hex", r.UserHash)
			}
			code, err := permCode(r.Permission)
			if err != nil {
				return nil, err
			}
			return []any{h, r.AppVersion, code, r.Feature, r.Trigger == clientperm.TriggerUserGesture, r.Foreground, int32(r.Count), r.TimeUS, r.ReceivedUS, r.Declared, int32(dayOf(r.TimeUS))}, nil
		})
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"client_permission_records"}, permissionCols, src); err != nil {
			return fmt.Errorf("copy permission records: %w", err)
		}
		for v, at := range versionsOf(recs) {
			if _, err := tx.Exec(ctx, upsertAppVersion, v, at); err != nil {
				return err
			}
		}
		return tx.Commit(ctx)
	})
}

// PermissionUsage sums appVersion's records with time in [fromUS, toUS)
// by feature, permission, trigger and foreground.
func (db *DB) PermissionUsage(ctx context.Context, appVersion string, fromUS, toUS int64) ([]clientperm.Usage, error) {
	var out []clientperm.Usage
	err := db.Reader.SelectContext(ctx, &out, `SELECT feature, `+permName+` AS permission, `+triggerName+` AS trigger_kind, foreground, SUM(reads) AS reads, MAX(time_us) AS last_us
		FROM client_permission_records WHERE app_version = $1 AND time_us >= $2 AND time_us < $3
		GROUP BY feature, perm, gesture, foreground ORDER BY feature, perm, gesture, foreground`, appVersion, fromUS, toUS)
	return out, err
}

// PermissionMinutes sums appVersion's records in [fromUS, toUS) per user,
// feature, permission and minute of their time.
func (db *DB) PermissionMinutes(ctx context.Context, appVersion string, fromUS, toUS int64) ([]clientperm.MinuteCount, error) {
	var out []clientperm.MinuteCount
	err := db.Reader.SelectContext(ctx, &out, `SELECT user_hash, feature, `+permName+` AS permission, time_us / 60000000 AS minute, SUM(reads) AS reads
		FROM client_permission_records WHERE app_version = $1 AND time_us >= $2 AND time_us < $3
		GROUP BY user_hash, feature, perm, time_us / 60000000`, appVersion, fromUS, toUS)
	for i := range out {
		out[i].UserHash = hex.EncodeToString([]byte(out[i].UserHash))
	}
	return out, err
}

// PermissionLastUse is the latest record time per feature and permission
// of appVersion, over all time.
func (db *DB) PermissionLastUse(ctx context.Context, appVersion string) ([]clientperm.LastUse, error) {
	var out []clientperm.LastUse
	err := db.Reader.SelectContext(ctx, &out, `SELECT feature, `+permName+` AS permission, MAX(time_us) AS last_us
		FROM client_permission_records WHERE app_version = $1 GROUP BY feature, perm`, appVersion)
	return out, err
}

// PermissionRecordsOf lists the records of one pseudonymised user with
// time in [fromUS, toUS), oldest first: one index probe per day.
func (db *DB) PermissionRecordsOf(ctx context.Context, userHash string, fromUS, toUS int64) ([]clientperm.StoredRecord, error) {
	h, err := hex.DecodeString(userHash)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: pseudonym %q is not hex", userHash)
	}
	days, err := daysIn(ctx, db.Reader, fromUS, toUS)
	if err != nil {
		return nil, err
	}
	var out []clientperm.StoredRecord
	err = db.Reader.SelectContext(ctx, &out, `SELECT app_version, `+permName+` AS permission, feature, `+triggerName+` AS trigger_kind, foreground, reads, time_us, received_us, declared
		FROM client_permission_records WHERE day IN (`+days+`) AND user_hash = $1 AND time_us >= $2 AND time_us < $3 ORDER BY time_us, id`, h, fromUS, toUS)
	for i := range out {
		out[i].UserHash = userHash
	}
	return out, err
}

// DeletePermissionRecordsOf deletes every record of one pseudonymised user
// and returns how many.
func (db *DB) DeletePermissionRecordsOf(ctx context.Context, userHash string) (int, error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	days, err := daysIn(ctx, tx, 0, 1<<62)
	if err != nil {
		return 0, err
	}
	h, err := hex.DecodeString(userHash)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: pseudonym %q is not hex", userHash)
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM client_permission_records WHERE day IN (`+days+`) AND user_hash = $1`, h)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	return int(n), tx.Commit()
}

// ClientAppVersions lists the app versions with a manifest or records, the
// most recently active first.
func (db *DB) ClientAppVersions(ctx context.Context) ([]string, error) {
	var out []string
	err := db.Reader.SelectContext(ctx, &out, `SELECT app_version FROM (
		SELECT app_version, updated_us AS at FROM client_manifests
		UNION ALL SELECT app_version, last_us AS at FROM client_app_versions) v
		GROUP BY app_version ORDER BY MAX(at) DESC, app_version LIMIT 200`)
	return out, err
}
