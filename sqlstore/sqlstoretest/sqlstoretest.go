// Package sqlstoretest opens fresh stores for tests: SQLite always, and
// PostgreSQL when WARDEN_TEST_POSTGRES holds a connection URL. Each store is
// isolated (a new SQLite file, a new PostgreSQL schema) and removed when the
// test ends.
package sqlstoretest

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wardenhq/warden/sqlstore"
)

// Each runs fn as a subtest once per backend under test.
func Each(t *testing.T, fn func(t *testing.T, db *sqlstore.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	if os.Getenv("WARDEN_TEST_POSTGRES") != "" {
		t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
	}
}

// SQLite opens a store in a new file under t.TempDir().
func SQLite(t testing.TB) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "warden.db"), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

var schemaSeq atomic.Int64

// Postgres opens a store in a new schema of the database named by
// WARDEN_TEST_POSTGRES, and skips the test when it is unset.
func Postgres(t testing.TB) *sqlstore.DB {
	t.Helper()
	u := PostgresURL(t)
	db, err := sqlstore.Open(context.Background(), u, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	pgURLs.Store(db, u)
	t.Cleanup(func() { db.Close() })
	return db
}

// URL returns the URL that opens db again (from another pool or process).
func URL(t testing.TB, db *sqlstore.DB) string {
	t.Helper()
	if db.Dialect == sqlstore.SQLite {
		return "sqlite:" + db.Path
	}
	u, ok := pgURLs.Load(db)
	if !ok {
		t.Fatal("sqlstoretest.URL: not a store opened by sqlstoretest.Postgres")
	}
	return u.(string)
}

var pgURLs sync.Map // *sqlstore.DB → its URL

// PostgresURL creates a new schema in the database named by
// WARDEN_TEST_POSTGRES, dropped when the test ends, and returns the URL
// that opens a store in it; it skips the test when the variable is unset.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("WARDEN_TEST_POSTGRES")
	if base == "" {
		t.Skip("WARDEN_TEST_POSTGRES is not set")
	}
	schema := fmt.Sprintf("t_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9, schemaSeq.Add(1))
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", base)
		if err == nil {
			a.Exec("DROP SCHEMA " + schema + " CASCADE")
			a.Close()
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return strings.Replace(u.String(), "postgresql://", "postgres://", 1)
}
