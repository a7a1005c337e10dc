package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// AccessRow is one entry of the data-access ledger as stored. Subject is
// the salted hash of UserID that the user's chain is keyed by; ChainSeq is
// the entry's place in that chain (1 for the first), PrevHash the hash of
// the entry before it ("" for the first) and Hash the entry's own.
type AccessRow struct {
	Seq         int64  `db:"seq"`
	ID          string `db:"id"`
	Subject     string `db:"subject"`
	ChainSeq    int64  `db:"chain_seq"`
	UserID      string `db:"user_id"`
	ActorClass  string `db:"actor_class"`
	ActorID     string `db:"actor_id"`
	ActorRegion string `db:"actor_region"`
	UserRegion  string `db:"user_region"`
	Purpose     string `db:"purpose"`
	Ticket      string `db:"ticket"`
	Categories  string `db:"categories"` // comma-separated, sorted
	TimeUS      int64  `db:"time_us"`
	RecordedUS  int64  `db:"recorded_us"`
	PrevHash    string `db:"prev_hash"`
	Hash        string `db:"hash"`
}

const accessCols = "seq, id, subject, chain_seq, user_id, actor_class, actor_id, actor_region, user_region, purpose, ticket, categories, time_us, recorded_us, prev_hash, hash"

// AccessChainer is how the ledger seals rows the store appends: a new
// user's salt and subject, and the hash of a row once its chain position
// is known.
type AccessChainer struct {
	NewSalt func() string
	Subject func(salt, user string) string
	// Seal sets r.Hash from r (with Subject, ChainSeq and PrevHash set).
	Seal func(r *AccessRow)
}

// AccessAppender appends ledger rows in batches, one transaction each. It
// caches subjects and chain heads between batches (on PostgreSQL another
// replica may append meanwhile: a batch whose guessed chain position is
// taken fails on the unique (subject, chain_seq) and is retried once with
// the heads read afresh).
type AccessAppender struct {
	db    *DB
	chain AccessChainer

	mu       sync.Mutex
	subjects map[string]string // user → subject
	heads    map[string]head   // subject → head
}

type head struct {
	seq  int64
	hash string
}

// NewAccessAppender returns an appender sealing rows with c.
func (db *DB) NewAccessAppender(c AccessChainer) *AccessAppender {
	return &AccessAppender{db: db, chain: c, subjects: map[string]string{}, heads: map[string]head{}}
}

// Forget drops what the appender cached about user (its subject was
// erased).
func (a *AccessAppender) Forget(user string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if s, ok := a.subjects[user]; ok {
		delete(a.heads, s)
	}
	delete(a.subjects, user)
}

// Append stores rows (UserID and the entry fields set) in one durable
// transaction, filling in Seq, Subject, ChainSeq, PrevHash and Hash.
func (a *AccessAppender) Append(ctx context.Context, rows []*AccessRow) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	err := a.append(ctx, rows, true)
	if err != nil && isUniqueViolation(err) {
		a.subjects, a.heads = map[string]string{}, map[string]head{}
		err = a.append(ctx, rows, false)
	}
	if err != nil {
		// The caches may hold heads of the rolled-back rows.
		a.subjects, a.heads = map[string]string{}, map[string]head{}
	}
	return err
}

func isUniqueViolation(err error) bool {
	s := strings.ToLower(err.Error())
	return strings.Contains(s, "unique") || strings.Contains(s, "duplicate key")
}

func (a *AccessAppender) append(ctx context.Context, rows []*AccessRow, cached bool) error {
	tx, err := a.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	subjects := map[string]string{}
	heads := map[string]head{}
	for _, r := range rows {
		s, ok := subjects[r.UserID]
		if !ok && cached {
			s, ok = a.subjects[r.UserID]
		}
		if !ok {
			err := tx.GetContext(ctx, &s, "SELECT subject FROM access_subjects WHERE user_id = $1", r.UserID)
			if errors.Is(err, sql.ErrNoRows) {
				salt := a.chain.NewSalt()
				s = a.chain.Subject(salt, r.UserID)
				if _, err := tx.ExecContext(ctx, "INSERT INTO access_subjects (user_id, salt, subject) VALUES ($1, $2, $3)", r.UserID, salt, s); err != nil {
					return fmt.Errorf("insert subject: %w", err)
				}
			} else if err != nil {
				return fmt.Errorf("subject: %w", err)
			}
		}
		subjects[r.UserID] = s
		r.Subject = s
		h, ok := heads[s]
		if !ok && cached {
			h, ok = a.heads[s]
		}
		if !ok {
			err := tx.QueryRowxContext(ctx, "SELECT chain_seq, hash FROM access_ledger WHERE subject = $1 ORDER BY chain_seq DESC LIMIT 1", s).Scan(&h.seq, &h.hash)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("chain head: %w", err)
			}
		}
		r.ChainSeq, r.PrevHash = h.seq+1, h.hash
		a.chain.Seal(r)
		heads[s] = head{r.ChainSeq, r.Hash}
	}
	const cols = 15
	const chunk = 200
	for i := 0; i < len(rows); i += chunk {
		part := rows[i:min(i+chunk, len(rows))]
		var q strings.Builder
		q.WriteString("INSERT INTO access_ledger (id, subject, chain_seq, user_id, actor_class, actor_id, actor_region, user_region, purpose, ticket, categories, time_us, recorded_us, prev_hash, hash) VALUES ")
		args := make([]any, 0, len(part)*cols)
		for j, r := range part {
			if j > 0 {
				q.WriteByte(',')
			}
			q.WriteByte('(')
			for k := range cols {
				if k > 0 {
					q.WriteByte(',')
				}
				if a.db.Dialect == SQLite {
					// Anonymous parameters: SQLite looks numbered ones up
					// by name, linearly, for each of thousands.
					q.WriteByte('?')
				} else {
					fmt.Fprintf(&q, "$%d", j*cols+k+1)
				}
			}
			q.WriteByte(')')
			args = append(args, r.ID, r.Subject, r.ChainSeq, r.UserID, r.ActorClass, r.ActorID, r.ActorRegion, r.UserRegion, r.Purpose, r.Ticket, r.Categories, r.TimeUS, r.RecordedUS, r.PrevHash, r.Hash)
		}
		q.WriteString(" RETURNING seq")
		rs, err := tx.QueryContext(ctx, q.String(), args...)
		if err != nil {
			return fmt.Errorf("insert access entries: %w", err)
		}
		j := 0
		for rs.Next() {
			if j < len(part) {
				if err := rs.Scan(&part[j].Seq); err != nil {
					rs.Close()
					return err
				}
			}
			j++
		}
		if err := rs.Close(); err != nil {
			return fmt.Errorf("insert access entries: %w", err)
		}
		if err := rs.Err(); err != nil {
			return fmt.Errorf("insert access entries: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	for u, s := range subjects {
		a.subjects[u] = s
	}
	for s, h := range heads {
		a.heads[s] = h
	}
	return nil
}

// UserAccess returns a user's ledger entries at or after sinceUS, newest
// first, at most limit.
func (db *DB) UserAccess(ctx context.Context, user string, sinceUS int64, limit int) ([]AccessRow, error) {
	var out []AccessRow
	err := db.Reader.SelectContext(ctx, &out, "SELECT "+accessCols+" FROM access_ledger WHERE subject = (SELECT subject FROM access_subjects WHERE user_id = $1) AND user_id = $1 AND time_us >= $2 ORDER BY time_us DESC, seq DESC LIMIT $3", user, sinceUS, max(1, limit))
	return out, err
}

// AccessSince returns the entries recorded at or after timeUS (event time),
// oldest first, at most limit: what rebuilds the actor counters at start.
func (db *DB) AccessSince(ctx context.Context, timeUS int64, limit int) ([]AccessRow, error) {
	var out []AccessRow
	err := db.Reader.SelectContext(ctx, &out, "SELECT "+accessCols+" FROM access_ledger WHERE time_us >= $1 ORDER BY time_us, seq LIMIT $2", timeUS, max(1, limit))
	return out, err
}

// AccessEntry returns one entry by id, or nil.
func (db *DB) AccessEntry(ctx context.Context, id string) (*AccessRow, error) {
	return getOne[AccessRow](ctx, db.Reader, "SELECT "+accessCols+" FROM access_ledger WHERE id = $1", id)
}

// ScanAccess calls fn with every ledger entry in seq order, reading in
// pages of 10,000 so that a long scan holds no transaction open.
func (db *DB) ScanAccess(ctx context.Context, fn func(*AccessRow) error) error {
	var after int64
	for {
		rs, err := db.Reader.QueryContext(ctx, "SELECT "+accessCols+" FROM access_ledger WHERE seq > $1 ORDER BY seq LIMIT 10000", after)
		if err != nil {
			return err
		}
		n := 0
		var r AccessRow
		for rs.Next() {
			if err := rs.Scan(&r.Seq, &r.ID, &r.Subject, &r.ChainSeq, &r.UserID, &r.ActorClass, &r.ActorID, &r.ActorRegion, &r.UserRegion,
				&r.Purpose, &r.Ticket, &r.Categories, &r.TimeUS, &r.RecordedUS, &r.PrevHash, &r.Hash); err != nil {
				rs.Close()
				return err
			}
			n++
			after = r.Seq
			if err := fn(&r); err != nil {
				rs.Close()
				return err
			}
		}
		if err := rs.Close(); err != nil {
			return err
		}
		if err := rs.Err(); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
	}
}

// CountAccess returns how many entries the ledger holds.
func (db *DB) CountAccess(ctx context.Context) (int64, error) {
	var n int64
	err := db.Reader.GetContext(ctx, &n, "SELECT COUNT(*) FROM access_ledger")
	return n, err
}

// AccessSalts returns every live user's salt and subject, by subject.
func (db *DB) AccessSalts(ctx context.Context) (map[string][2]string, error) {
	rs, err := db.Reader.QueryContext(ctx, "SELECT user_id, salt, subject FROM access_subjects")
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := map[string][2]string{}
	for rs.Next() {
		var u, salt, s string
		if err := rs.Scan(&u, &salt, &s); err != nil {
			return nil, err
		}
		out[s] = [2]string{u, salt}
	}
	return out, rs.Err()
}

// AccessHeads returns every chain's head as of seq ≤ lastSeq: subject →
// (chain_seq, hash).
func (db *DB) AccessHeads(ctx context.Context, lastSeq int64) (map[string]AccessRow, error) {
	rs, err := db.Reader.QueryContext(ctx, `SELECT l.subject, l.chain_seq, l.hash FROM access_ledger l
		JOIN (SELECT subject, MAX(chain_seq) AS m FROM access_ledger WHERE seq <= $1 GROUP BY subject) h ON h.subject = l.subject AND h.m = l.chain_seq`, lastSeq)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := map[string]AccessRow{}
	for rs.Next() {
		var r AccessRow
		if err := rs.Scan(&r.Subject, &r.ChainSeq, &r.Hash); err != nil {
			return nil, err
		}
		out[r.Subject] = r
	}
	return out, rs.Err()
}

// LastAccessSeq returns the ledger's last seq (about its size: seqs only
// grow, and entries are never deleted).
func (db *DB) LastAccessSeq(ctx context.Context) (int64, error) {
	var n int64
	err := db.Reader.GetContext(ctx, &n, "SELECT COALESCE(MAX(seq), 0) FROM access_ledger")
	return n, err
}

// LastAccessSeqBefore returns the seq of the last entry recorded before
// recordedUS, 0 for none.
func (db *DB) LastAccessSeqBefore(ctx context.Context, recordedUS int64) (int64, error) {
	var n int64
	err := db.Reader.GetContext(ctx, &n, "SELECT COALESCE(MAX(seq), 0) FROM access_ledger WHERE recorded_us < $1", recordedUS)
	return n, err
}

// AccessCheckpoint is a signed statement of every chain's head.
type AccessCheckpoint struct {
	Seq     int64  `db:"seq"`
	LastSeq int64  `db:"last_seq"`
	Entries int64  `db:"entries"`
	Chains  int64  `db:"chains"`
	Root    string `db:"root"`
	KeyID   string `db:"key_id"`
	JWS     string `db:"jws"`
	AtUS    int64  `db:"at_us"`
}

// AddAccessCheckpoint stores a checkpoint.
func (db *DB) AddAccessCheckpoint(ctx context.Context, c *AccessCheckpoint) error {
	return db.GetContext(ctx, &c.Seq, "INSERT INTO access_checkpoints (last_seq, entries, chains, root, key_id, jws, at_us) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq",
		c.LastSeq, c.Entries, c.Chains, c.Root, c.KeyID, c.JWS, c.AtUS)
}

// AccessCheckpoints returns every checkpoint, oldest first.
func (db *DB) AccessCheckpoints(ctx context.Context) ([]AccessCheckpoint, error) {
	var out []AccessCheckpoint
	err := db.Reader.SelectContext(ctx, &out, "SELECT seq, last_seq, entries, chains, root, key_id, jws, at_us FROM access_checkpoints ORDER BY seq")
	return out, err
}

// EraseAccessSubject crypto-shreds a user's link to their chain: the salt
// row goes and the entries' user_id is blanked, while the chain (keyed by
// subject, hashed without the user id) still verifies. It returns how many
// entries were pseudonymised.
func (db *DB) EraseAccessSubject(ctx context.Context, user string) (int64, error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, "UPDATE access_ledger SET user_id = '' WHERE subject = (SELECT subject FROM access_subjects WHERE user_id = $1) AND user_id = $1", user)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	if _, err := tx.ExecContext(ctx, "DELETE FROM access_subjects WHERE user_id = $1", user); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE access_flags SET user_id = '' WHERE user_id = $1", user); err != nil {
		return 0, err
	}
	return n, tx.Commit()
}

// AccessFlag is a policy flag raised on a ledger entry.
type AccessFlag struct {
	ID         string `db:"id" json:"id"`
	EntryID    string `db:"entry_id" json:"entry_id"`
	UserID     string `db:"user_id" json:"user"`
	ActorClass string `db:"actor_class" json:"actor_class"`
	ActorID    string `db:"actor_id" json:"actor_id"`
	Kind       string `db:"kind" json:"kind"`
	Detail     string `db:"detail" json:"detail"`
	RaisedUS   int64  `db:"raised_us" json:"-"`
	ResolvedUS int64  `db:"resolved_us" json:"-"`
	ResolvedBy string `db:"resolved_by" json:"resolved_by,omitempty"`
	Note       string `db:"note" json:"note,omitempty"`
}

const flagCols = "id, entry_id, user_id, actor_class, actor_id, kind, detail, raised_us, resolved_us, resolved_by, note"

// AddAccessFlags stores flags.
func (db *DB) AddAccessFlags(ctx context.Context, fs []AccessFlag) error {
	if len(fs) == 0 {
		return nil
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, f := range fs {
		if _, err := tx.ExecContext(ctx, "INSERT INTO access_flags (id, entry_id, user_id, actor_class, actor_id, kind, detail, raised_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
			f.ID, f.EntryID, f.UserID, f.ActorClass, f.ActorID, f.Kind, f.Detail, f.RaisedUS); err != nil {
			return fmt.Errorf("insert flag: %w", err)
		}
	}
	return tx.Commit()
}

// AccessFlags lists flags, newest first: open ones (resolved false) or
// resolved ones.
func (db *DB) AccessFlags(ctx context.Context, resolved bool, limit int) ([]AccessFlag, error) {
	cond := "resolved_us = 0"
	if resolved {
		cond = "resolved_us <> 0"
	}
	var out []AccessFlag
	err := db.Reader.SelectContext(ctx, &out, "SELECT "+flagCols+" FROM access_flags WHERE "+cond+" ORDER BY raised_us DESC, id LIMIT $1", max(1, limit))
	return out, err
}

// EntryFlags returns the flags on the given entries.
func (db *DB) EntryFlags(ctx context.Context, entryIDs []string) ([]AccessFlag, error) {
	if len(entryIDs) == 0 {
		return nil, nil
	}
	ph := make([]string, len(entryIDs))
	args := make([]any, len(entryIDs))
	for i, id := range entryIDs {
		ph[i] = fmt.Sprintf("$%d", i+1)
		args[i] = id
	}
	var out []AccessFlag
	err := db.Reader.SelectContext(ctx, &out, "SELECT "+flagCols+" FROM access_flags WHERE entry_id IN ("+strings.Join(ph, ",")+") ORDER BY raised_us", args...)
	return out, err
}

// ResolveAccessFlag marks an open flag resolved; false when there is no
// open flag with that id.
func (db *DB) ResolveAccessFlag(ctx context.Context, id, by, note string, at int64) (bool, error) {
	res, err := db.ExecContext(ctx, "UPDATE access_flags SET resolved_us = $1, resolved_by = $2, note = $3 WHERE id = $4 AND resolved_us = 0", at, by, note, id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// AccessFigures are the ledger's counts for [from, to): entries by purpose
// and by actor class, flags raised and resolved.
type AccessFigures struct {
	ByPurpose     map[string]int64 `json:"by_purpose"`
	ByActorClass  map[string]int64 `json:"by_actor_class"`
	FlagsRaised   int64            `json:"flags_raised"`
	FlagsResolved int64            `json:"flags_resolved"`
	FlagsByKind   map[string]int64 `json:"flags_by_kind"`
}

// AccessFiguresFor counts the ledger for [from, to) in microseconds.
func (db *DB) AccessFiguresFor(ctx context.Context, from, to int64) (AccessFigures, error) {
	f := AccessFigures{ByPurpose: map[string]int64{}, ByActorClass: map[string]int64{}, FlagsByKind: map[string]int64{}}
	group := func(q string, into map[string]int64) error {
		rs, err := db.Reader.QueryContext(ctx, q, from, to)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var k string
			var n int64
			if err := rs.Scan(&k, &n); err != nil {
				return err
			}
			into[k] = n
		}
		return rs.Err()
	}
	if err := group("SELECT purpose, COUNT(*) FROM access_ledger WHERE time_us >= $1 AND time_us < $2 GROUP BY purpose", f.ByPurpose); err != nil {
		return f, err
	}
	if err := group("SELECT actor_class, COUNT(*) FROM access_ledger WHERE time_us >= $1 AND time_us < $2 GROUP BY actor_class", f.ByActorClass); err != nil {
		return f, err
	}
	if err := group("SELECT kind, COUNT(*) FROM access_flags WHERE raised_us >= $1 AND raised_us < $2 GROUP BY kind", f.FlagsByKind); err != nil {
		return f, err
	}
	for _, n := range f.FlagsByKind {
		f.FlagsRaised += n
	}
	err := db.Reader.GetContext(ctx, &f.FlagsResolved, "SELECT COUNT(*) FROM access_flags WHERE resolved_us >= $1 AND resolved_us < $2", from, to)
	return f, err
}
