package sqlsecrets_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/mariadb/mariadbtest"
	"github.com/posthaste/posthaste/adapters/sqlite/sqlitetest"
	"github.com/posthaste/posthaste/adapters/sqlsecrets"
	"github.com/posthaste/posthaste/domain/tenancy"
	"github.com/posthaste/posthaste/domain/tenancy/secretstoretest"
	"github.com/posthaste/posthaste/migrations"
)

// backends are the databases the store runs on, each a fresh migrated one per call.
var backends = []struct {
	name    string
	dialect string
	db      func(t testing.TB) *sql.DB
}{
	{"sqlite", migrations.DialectSQLite, sqlitetest.DB},
	{"mariadb", migrations.DialectMySQL, mariadbtest.DB},
}

func secretKey(b byte) []byte {
	k := make([]byte, 32)
	for i := range k {
		k[i] = b
	}
	return k
}

func TestSecretsAcceptance(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			var db *sql.DB
			secretstoretest.Run(t, func(t *testing.T) tenancy.SecretStore {
				db = be.db(t)
				s, err := sqlsecrets.New(db, be.dialect, secretKey(1), rand.Reader, time.Now)
				if err != nil {
					t.Fatal(err)
				}
				return s
			}, func(t *testing.T, id string) []byte {
				var b []byte
				if err := db.QueryRow(`SELECT sealed FROM secrets WHERE id = ?`, id).Scan(&b); err != nil {
					t.Fatal(err)
				}
				return b
			})
		})
	}
}

func TestSecretsWrongKeyAndTampering(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			db := be.db(t)
			a, _ := sqlsecrets.New(db, be.dialect, secretKey(1), rand.Reader, time.Now)
			b, _ := sqlsecrets.New(db, be.dialect, secretKey(2), rand.Reader, time.Now)
			if err := a.PutSecret(ctx, "k1", "test", []byte("private")); err != nil {
				t.Fatal(err)
			}
			if _, err := b.GetSecret(ctx, "k1"); err == nil || !strings.Contains(err.Error(), "another POSTHASTE_SECRET_KEY") {
				t.Fatalf("wrong key: %v", err)
			}
			// A sealed value moved to another row does not open (id and kind are authenticated).
			if _, err := db.Exec(`INSERT INTO secrets (id, kind, key_id, sealed, created_at) SELECT 'k2', kind, key_id, sealed, created_at FROM secrets WHERE id = 'k1'`); err != nil {
				t.Fatal(err)
			}
			if _, err := a.GetSecret(ctx, "k2"); err == nil || !strings.Contains(err.Error(), "cannot decrypt") {
				t.Fatalf("moved value: %v", err)
			}
			if _, err := sqlsecrets.New(db, be.dialect, []byte("short"), rand.Reader, time.Now); err == nil {
				t.Fatal("short key accepted")
			}
			if _, err := sqlsecrets.New(nil, be.dialect, secretKey(1), rand.Reader, time.Now); err == nil {
				t.Fatal("nil db accepted")
			}
		})
	}
}

// created_at is written in each dialect's column type, at microsecond resolution.
func TestSecretsCreatedAt(t *testing.T) {
	at := time.Date(2026, 11, 24, 3, 4, 5, 123456789, time.UTC)
	want := map[string]string{
		migrations.DialectSQLite: "2026-11-24T03:04:05.123456Z",
		migrations.DialectMySQL:  "2026-11-24 03:04:05.123456",
	}
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			db := be.db(t)
			s, err := sqlsecrets.New(db, be.dialect, secretKey(1), rand.Reader, func() time.Time { return at })
			if err != nil {
				t.Fatal(err)
			}
			if err := s.PutSecret(context.Background(), "k1", "test", []byte("v")); err != nil {
				t.Fatal(err)
			}
			q := `SELECT created_at FROM secrets WHERE id = 'k1'`
			if be.dialect == migrations.DialectMySQL {
				q = `SELECT DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s.%f') FROM secrets WHERE id = 'k1'`
			}
			var got string
			if err := db.QueryRow(q).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != want[be.dialect] {
				t.Fatalf("created_at = %q, want %q", got, want[be.dialect])
			}
		})
	}
}

func TestNewRefusesUnknownDialect(t *testing.T) {
	db := sqlitetest.DB(t)
	if _, err := sqlsecrets.New(db, "postgres", secretKey(1), rand.Reader, time.Now); err == nil || !strings.Contains(err.Error(), "unknown database dialect") {
		t.Fatalf("unknown dialect: %v", err)
	}
}
