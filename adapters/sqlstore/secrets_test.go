package sqlstore_test

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/sqlstore"
	"github.com/posthaste/posthaste/adapters/sqlstore/sqlstoretest"
	"github.com/posthaste/posthaste/domain/tenancy"
	"github.com/posthaste/posthaste/domain/tenancy/secretstoretest"
	"github.com/posthaste/posthaste/migrations"
)

func secretKey(b byte) []byte {
	k := make([]byte, 32)
	for i := range k {
		k[i] = b
	}
	return k
}

func TestSecretsAcceptance(t *testing.T) {
	for _, be := range sqlstoretest.Backends {
		t.Run(be.Name, func(t *testing.T) {
			var st *sqlstore.Store
			secretstoretest.Run(t, func(t *testing.T) tenancy.SecretStore {
				st = be.Open(t)
				s, err := st.Secrets(secretKey(1), rand.Reader, time.Now)
				if err != nil {
					t.Fatal(err)
				}
				return s
			}, func(t *testing.T, id string) []byte {
				var b []byte
				if err := st.DB().QueryRow(`SELECT sealed FROM secrets WHERE id = ?`, id).Scan(&b); err != nil {
					t.Fatal(err)
				}
				return b
			})
		})
	}
}

func TestSecretsWrongKeyAndTampering(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, st *sqlstore.Store) {
		ctx := context.Background()
		db := st.DB()
		a, _ := st.Secrets(secretKey(1), rand.Reader, time.Now)
		b, _ := st.Secrets(secretKey(2), rand.Reader, time.Now)
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
		if _, err := st.Secrets([]byte("short"), rand.Reader, time.Now); err == nil {
			t.Fatal("short key accepted")
		}
		var none *sqlstore.Store
		if _, err := none.Secrets(secretKey(1), rand.Reader, time.Now); err == nil {
			t.Fatal("nil db accepted")
		}
	})
}

// created_at is written in each dialect's column type, at microsecond resolution.
func TestSecretsCreatedAt(t *testing.T) {
	at := time.Date(2026, 11, 24, 3, 4, 5, 123456789, time.UTC)
	want := map[string]string{
		migrations.DialectSQLite: "2026-11-24T03:04:05.123456Z",
		migrations.DialectMySQL:  "2026-11-24 03:04:05.123456",
	}
	sqlstoretest.Each(t, func(t *testing.T, st *sqlstore.Store) {
		s, err := st.Secrets(secretKey(1), rand.Reader, func() time.Time { return at })
		if err != nil {
			t.Fatal(err)
		}
		if err := s.PutSecret(context.Background(), "k1", "test", []byte("v")); err != nil {
			t.Fatal(err)
		}
		q := `SELECT created_at FROM secrets WHERE id = 'k1'`
		if st.SQLDialect() == migrations.DialectMySQL {
			q = `SELECT DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s.%f') FROM secrets WHERE id = 'k1'`
		}
		var got string
		if err := st.DB().QueryRow(q).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want[st.SQLDialect()] {
			t.Fatalf("created_at = %q, want %q", got, want[st.SQLDialect()])
		}
	})
}

// Secrets refuses bad wiring, naming every problem. (The dialect is typed, so an unknown one,
// which the old constructor taking a dialect string refused, can no longer be passed.)
func TestSecretsRefusesBadWiring(t *testing.T) {
	st := sqlstoretest.SQLite(t)
	_, err := st.Secrets([]byte("short"), nil, nil)
	if err == nil {
		t.Fatal("bad wiring accepted")
	}
	for _, want := range []string{"rand is nil", "clock is nil", "key is 5 bytes"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
}
