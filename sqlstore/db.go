// Package sqlstore is Warden's SQL store: the durable event log, API keys,
// console users and sessions, and everything else that is not hot state. One
// body of SQL, written with $N placeholders, runs on SQLite (modernc.org/sqlite,
// pure Go, the default) and PostgreSQL (pgx), with goose migrations embedded in
// the binary.
package sqlstore

import (
	"context"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing/fstest"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/jmoiron/sqlx"
	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// Dialects.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// DB is an open store. Reads go through a pool; writes that must be
// serialised (the event log's group commit) use the same pool, which on
// SQLite holds a single writer connection.
type DB struct {
	*sqlx.DB
	// Reader is a pool for reads that may run beside a write: on SQLite a
	// separate set of read-only connections (WAL lets them proceed while the
	// single writer commits), on PostgreSQL the same pool as DB.
	Reader  *sqlx.DB
	Dialect string
	Logger  *slog.Logger
	// Path is the SQLite database file, or "" on PostgreSQL.
	Path string

	stopCheckpoint func()
}

// Open opens the store named by url and brings its schema up to date. An empty
// url means SQLite in dataDir/warden.db; "postgres://…" or "postgresql://…"
// means PostgreSQL; "sqlite:PATH" an explicit SQLite file.
func Open(ctx context.Context, url, dataDir string, logger *slog.Logger) (*DB, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	db := &DB{Logger: logger}
	var err error
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		db.Dialect = Postgres
		db.DB, err = sqlx.Open("pgx", url)
		if err == nil {
			db.SetMaxOpenConns(16)
			db.SetMaxIdleConns(16)
			db.Reader = db.DB
		}
	case url == "" || strings.HasPrefix(url, "sqlite:"):
		db.Dialect = SQLite
		path := strings.TrimPrefix(url, "sqlite:")
		if path == "" {
			if dataDir == "" {
				dataDir = "warden-data"
			}
			if err := os.MkdirAll(dataDir, 0o700); err != nil {
				return nil, fmt.Errorf("create data directory: %w", err)
			}
			path = filepath.Join(dataDir, "warden.db")
		}
		db.Path = path
		// WAL lets readers run beside the writer; synchronous=FULL makes every
		// commit durable before it returns, which the event log relies on.
		dsn := "file:" + path + "?_pragma=cache_size(-65536)&_pragma=wal_autocheckpoint(0)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(ON)&_txlock=immediate"
		db.DB, err = sqlx.Open("sqlite", dsn)
		if err == nil {
			// One connection: SQLite has one writer, and a single
			// connection makes writes queue in Go rather than spin on locks.
			db.SetMaxOpenConns(1)
			db.Reader, err = sqlx.Open("sqlite", dsn+"&_pragma=query_only(1)")
			if err == nil {
				db.Reader.SetMaxOpenConns(4)
			}
			if err == nil {
				db.stopCheckpoint, err = startCheckpointer(dsn, db.DB, logger)
			}
		}
	default:
		return nil, fmt.Errorf("unsupported database URL %q: use postgres://… or sqlite:PATH, or leave it empty for SQLite under the data directory", url)
	}
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to %s: %w", db.Dialect, err)
	}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Close closes both pools.
func (db *DB) Close() error {
	if db.stopCheckpoint != nil {
		db.stopCheckpoint()
	}
	err := db.DB.Close()
	if db.Reader != nil && db.Reader != db.DB {
		if rerr := db.Reader.Close(); err == nil {
			err = rerr
		}
	}
	return err
}

func (db *DB) migrate(ctx context.Context) error {
	fsys, err := dialectFS(migrations, db.Dialect)
	if err != nil {
		return err
	}
	dialect := goose.DialectSQLite3
	if db.Dialect == Postgres {
		dialect = goose.DialectPostgres
	}
	// Out of order: features are developed on branches that each take their
	// own migration numbers, so a store may have a higher number applied
	// before a lower one ships; each migration stands on its own.
	p, err := goose.NewProvider(dialect, db.DB.DB, fsys, goose.WithAllowOutofOrder(true))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, r := range res {
		db.Logger.Info("migrated", "version", r.Source.Version, "file", r.Source.Path, "took", r.Duration)
	}
	return nil
}

// walRestartFrames is the write-ahead log's length, in pages, past which
// the checkpointer truncates it: 65,536 pages of 4 KiB, 256 MiB.
var walRestartFrames = 65_536

// startCheckpointer copies the SQLite write-ahead log into the database file
// from its own connection, a few times a second. The writer's connection has
// automatic checkpoints turned off: run inside a commit they doubled the
// serial cost of the event log, while here they use another core and never
// block the writer (PASSIVE mode).
func startCheckpointer(dsn string, writer *sqlx.DB, logger *slog.Logger) (stop func(), err error) {
	cdb, err := sqlx.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	cdb.SetMaxOpenConns(1)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				var busy, logFrames, done int
				if err := cdb.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logFrames, &done); err != nil {
					logger.Warn("sqlite checkpoint failed", "err", err)
					continue
				}
				if logFrames < walRestartFrames {
					continue
				}
				// Writing without a pause, the writer never finds the log
				// fully copied when it starts a transaction, so SQLite never
				// starts the log over and it grows without bound (a 10 M
				// entry ledger load left 34 GB). Past walRestartFrames, copy
				// the rest and truncate the log on the writer's own
				// connection: it queues there between two transactions (a
				// checkpoint from another connection loses every race for
				// the lock to a busy writer).
				if err := truncateWAL(writer, &busy, &logFrames); err != nil {
					logger.Warn("sqlite checkpoint (truncate) failed", "err", err)
				} else if busy != 0 {
					logger.Warn("sqlite checkpoint (truncate) could not finish, a reader holds the log; trying again later", "frames", logFrames)
				}
			}
		}
	}()
	return func() {
		close(done)
		<-finished
		// A last full checkpoint leaves a compact database behind.
		cdb.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
		cdb.Close()
	}, nil
}

// truncateWAL runs a TRUNCATE checkpoint on the writer's one connection,
// held for it alone. A truncation waits for readers still reading the log;
// with the connection's usual 10 s busy timeout that would hold every write
// for as long, so it waits at most truncateWait and reports busy instead
// (the next look tries again).
func truncateWAL(writer *sqlx.DB, busy, frames *int) error {
	ctx := context.Background()
	conn, err := writer.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", truncateWait.Milliseconds())); err != nil {
		return err
	}
	var done int
	cerr := conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(busy, frames, &done)
	if _, err := conn.ExecContext(ctx, "PRAGMA busy_timeout = 10000"); err != nil {
		// A connection left with the short timeout must not serve writes.
		conn.Raw(func(any) error { return driver.ErrBadConn })
		return errors.Join(cerr, err)
	}
	return cerr
}

// truncateWait bounds how long a truncation holds writes up for readers.
const truncateWait = 200 * time.Millisecond

// dialectMacros are the only places where the SQLite and PostgreSQL schemas
// differ.
var dialectMacros = map[string]map[string]string{
	SQLite: {
		// A rowid alias without AUTOINCREMENT: rows are never deleted from
		// the end, so ids still only grow, and inserts skip updating
		// sqlite_sequence.
		"{{SERIAL_PK}}": "INTEGER PRIMARY KEY",
		"{{BLOB}}":      "BLOB",
	},
	Postgres: {
		"{{SERIAL_PK}}": "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
		"{{BLOB}}":      "BYTEA",
	},
}

// dialectFS returns the migrations with their macros replaced for dialect.
func dialectFS(src embed.FS, dialect string) (fs.FS, error) {
	out := fstest.MapFS{}
	err := fs.WalkDir(src, "migrations", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(src, path)
		if err != nil {
			return err
		}
		s := string(b)
		for k, v := range dialectMacros[dialect] {
			s = strings.ReplaceAll(s, k, v)
		}
		if i := strings.Index(s, "{{"); i >= 0 {
			return fmt.Errorf("migration %s: unknown macro at byte %d", path, i)
		}
		out[strings.TrimPrefix(path, "migrations/")] = &fstest.MapFile{Data: []byte(s), Mode: 0o444}
		return nil
	})
	return out, err
}

// Now is the store's clock, in microseconds since the epoch.
func Now() int64 { return time.Now().UnixMicro() }
