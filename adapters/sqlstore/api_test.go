package sqlstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/sqlstore"
	"github.com/posthaste/posthaste/adapters/sqlstore/sqlstoretest"
	"github.com/posthaste/posthaste/domain/submission"
)

type verifiedDomains struct{}

func (verifiedDomains) IsVerifiedSenderDomain(context.Context, string, string) (bool, error) {
	return true, nil
}

type captureAcceptor struct{ got *submission.Acceptance }

func (c captureAcceptor) Accept(_ context.Context, a submission.Acceptance) error {
	*c.got = a
	return nil
}

// acceptance builds a real acceptance for rcpts of server acme/main (nothing written) whose
// Postal ids come from api.
func acceptance(t *testing.T, api *sqlstore.API, rcpts ...string) (submission.Acceptance, []int64) {
	t.Helper()
	var got submission.Acceptance
	var ids []int64
	h, err := submission.NewHandler(submission.Config{Hostname: "posthaste.test", Domains: verifiedDomains{}, Acceptor: captureAcceptor{&got}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.Submit(context.Background(), submission.Submission{
		Principal: submission.Principal{ServerID: "acme/main", CredentialID: "c"}, MailFrom: "app@example.org", Recipients: rcpts,
		Body: []byte("From: app@example.org\r\nSubject: ids\r\n\r\nbody\r\n"), Source: "api",
		PostalIDs: func(ctx context.Context, messageIDs []string) ([]submission.PostalID, error) {
			var err error
			if ids, err = api.NewPostalIDs(ctx, len(messageIDs)); err != nil {
				return nil, err
			}
			out := make([]submission.PostalID, len(ids))
			for i, id := range ids {
				out[i] = submission.PostalID{ID: id, Token: "tok" + messageIDs[i][len(messageIDs[i])-6:]}
			}
			return out, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	return got, ids
}

// TestIdempotencyStoreContract: Reserve is atomic, keys expire after the TTL, a released key
// can be reserved again; Postal ids are written by the acceptance, not when given.
func TestIdempotencyStoreContract(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, st *sqlstore.Store) {
		s := st.API()
		ctx := context.Background()
		now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
		var wg sync.WaitGroup
		var mu sync.Mutex
		won := 0
		for i := 0; i < 16; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, ok, err := s.Reserve(ctx, "acme/main", "k", "h1", now, 24*time.Hour)
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					won++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if won != 1 {
			t.Fatalf("%d concurrent reservations won, want 1", won)
		}
		if err := s.Complete(ctx, "acme/main", "k", 202, []byte("application/json\n{}")); err != nil {
			t.Fatal(err)
		}
		got, ok, err := s.Reserve(ctx, "acme/main", "k", "h2", now.Add(23*time.Hour), 24*time.Hour)
		if err != nil || ok || got.Status != 202 || got.RequestHash != "h1" {
			t.Fatalf("within 24h: %+v %v %v", got, ok, err)
		}
		if _, ok, err := s.Reserve(ctx, "acme/main", "k", "h2", now.Add(25*time.Hour), 24*time.Hour); err != nil || !ok {
			t.Fatalf("after 24h the key is free again: %v %v", ok, err)
		}
		if err := s.Release(ctx, "acme/main", "k"); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := s.Reserve(ctx, "acme/main", "k", "h3", now.Add(25*time.Hour), 24*time.Hour); err != nil || !ok {
			t.Fatalf("a released key can be reserved: %v %v", ok, err)
		}
		ids, err := s.NewPostalIDs(ctx, 2)
		if err != nil || len(ids) != 2 || ids[1] <= ids[0] {
			t.Fatalf("ids: %v %v", ids, err)
		}
		if _, _, found, err := s.MessageByID(ctx, "acme/main", ids[1]); err != nil || found {
			t.Fatalf("NewPostalIDs wrote the row itself: %v %v", found, err)
		}
		// Written by an acceptance, with message ids m1, m2 in place of real streams.
		acc, _ := acceptance(t, s, "a@remote.test", "b@remote.test")
		acc.PostalIDs = []submission.PostalID{{MessageID: "m1", ID: ids[0], Token: "t1"}, {MessageID: "m2", ID: ids[1], Token: "t2"}}
		if err := st.Accept(ctx, acc); err != nil {
			t.Fatal(err)
		}
		if mid, tok, found, err := s.MessageByID(ctx, "acme/main", ids[1]); err != nil || !found || mid != "m2" || tok != "t2" {
			t.Fatalf("by id: %v %v %v %v", mid, tok, found, err)
		}
		if _, _, found, _ := s.MessageByID(ctx, "acme/other", ids[1]); found {
			t.Fatal("another server found the id")
		}
	})
}

// TestPostalIDBlocks: ids increase within a store, a second store on the same database
// (another process) reserves its own block, and blocks start past ids already written.
func TestPostalIDBlocks(t *testing.T) {
	for name, open := range map[string]func(t *testing.T) (a, b *sqlstore.Store){
		"sqlite": func(t *testing.T) (*sqlstore.Store, *sqlstore.Store) {
			path := sqlstoretest.SQLitePath(t)
			return openBoth(t, func() (*sqlstore.Store, error) { return sqlstore.OpenSQLite(context.Background(), path) })
		},
		"mariadb": func(t *testing.T) (*sqlstore.Store, *sqlstore.Store) {
			dsn := sqlstoretest.MariaDBDSN(t)
			return openBoth(t, func() (*sqlstore.Store, error) { return sqlstore.OpenMariaDB(context.Background(), dsn) })
		},
	} {
		t.Run(name, func(t *testing.T) {
			sa, sb := open(t)
			ctx := context.Background()
			if _, err := sa.DB().ExecContext(ctx, "INSERT INTO api_message_ids (id, message_id, server_id, token, created_us) VALUES (5000, 'old', 'acme/main', 't', 0)"); err != nil {
				t.Fatal(err)
			}
			a, b := sa.API(), sb.API()
			seen := map[int64]bool{}
			var last int64
			for i := 0; i < 3; i++ {
				for _, s := range []*sqlstore.API{a, b} {
					n := 700 // more than half a block: blocks run out
					ids, err := s.NewPostalIDs(ctx, n)
					if err != nil || len(ids) != n {
						t.Fatalf("ids: %d %v", len(ids), err)
					}
					for _, id := range ids {
						if id <= 5000 || seen[id] {
							t.Fatalf("id %d given twice or not past the existing 5000", id)
						}
						seen[id] = true
					}
					if s == a {
						if ids[0] <= last {
							t.Fatalf("ids of one store decrease: %d after %d", ids[0], last)
						}
						last = ids[len(ids)-1]
					}
				}
			}
		})
	}
}

// openBoth opens two stores on one database, closed when the test ends.
func openBoth(t *testing.T, open func() (*sqlstore.Store, error)) (*sqlstore.Store, *sqlstore.Store) {
	t.Helper()
	var out [2]*sqlstore.Store
	for i := range out {
		s, err := open()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		out[i] = s
	}
	return out[0], out[1]
}
