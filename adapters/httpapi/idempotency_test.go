package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/httpapi"
)

func TestIdempotencyKeyOnBothBackends(t *testing.T) {
	for name, mk := range map[string]func(testing.TB) (backend, string){"sqlite": sqliteBackend, "mariadb": mariadbBackend} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, mk, options{})
			body := map[string]any{"from": "app@example.org", "to": []string{"a@remote.test"}, "subject": "once", "text": "hello"}
			first := e.v2("POST", "/api/v2/send", body, http.StatusAccepted, nil, "Idempotency-Key", "k1")
			code, hdr, again := e.do("POST", "/api/v2/send", body, "Authorization", "Bearer "+e.key, "Idempotency-Key", "k1")
			if code != http.StatusAccepted || string(again) != string(first) || hdr.Get("Idempotent-Replayed") != "true" {
				t.Fatalf("repeat: %d %s (first %s)", code, again, first)
			}
			if n := e.queuedCount(); n != 1 {
				t.Fatalf("two sends with one key wrote %d messages, want 1", n)
			}
			// A different body under the same key is refused, naming the key.
			body2 := map[string]any{"from": "app@example.org", "to": []string{"b@remote.test"}, "subject": "other", "text": "x"}
			code, hdr, out := e.do("POST", "/api/v2/send", body2, "Authorization", "Bearer "+e.key, "Idempotency-Key", "k1")
			if code != http.StatusUnprocessableEntity || hdr.Get("Content-Type") != "application/problem+json" || !strings.Contains(string(out), "Idempotency-Key") {
				t.Fatalf("reused key: %d %s", code, out)
			}
			// The key is per server: another server may use the same key.
			code, _, _ = e.do("POST", "/api/v2/send", map[string]any{"from": "app@other.org", "to": []string{"a@remote.test"}, "subject": "s", "text": "t"},
				"Authorization", "Bearer "+e.other, "Idempotency-Key", "k1")
			if code != http.StatusAccepted {
				t.Fatalf("other server with the same key: %d", code)
			}
			// Postal v1 honours it too, with a Postal-style error for a different body.
			p1 := e.postal("/api/v1/send/message", e.key, map[string]any{"to": []string{"p@remote.test"}, "from": "app@example.org", "plain_body": "x"}, "Idempotency-Key", "v1")
			p2 := e.postal("/api/v1/send/message", e.key, map[string]any{"to": []string{"p@remote.test"}, "from": "app@example.org", "plain_body": "x"}, "Idempotency-Key", "v1")
			if p1.Status != "success" || string(p1.raw) != string(p2.raw) {
				t.Fatalf("v1 repeat: %s vs %s", p1.raw, p2.raw)
			}
			if p3 := e.postal("/api/v1/send/message", e.key, map[string]any{"to": []string{"q@remote.test"}, "from": "app@example.org", "plain_body": "x"}, "Idempotency-Key", "v1"); p3.code() != "IdempotencyKeyReused" {
				t.Fatalf("v1 reused key: %s", p3.raw)
			}
			if n := e.queuedCount(); n != 3 {
				t.Fatalf("messages: %d, want 3", n)
			}

			// Concurrent duplicates: exactly one message, every caller gets the same answer.
			var wg sync.WaitGroup
			answers := make([]string, 12)
			codes := make([]int, 12)
			cbody := map[string]any{"from": "app@example.org", "to": []string{"c@remote.test"}, "subject": "race", "text": "x"}
			for i := range answers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					req, _ := json.Marshal(cbody)
					c, _, out := e.do("POST", "/api/v2/send", req, "Authorization", "Bearer "+e.key, "Idempotency-Key", "race")
					codes[i], answers[i] = c, string(out)
				}()
			}
			wg.Wait()
			for i := range answers {
				if codes[i] != http.StatusAccepted || answers[i] != answers[0] {
					t.Fatalf("concurrent duplicate %d: %d %s (first %s)", i, codes[i], answers[i], answers[0])
				}
			}
			if n := e.queuedCount(); n != 4 {
				t.Fatalf("12 concurrent duplicates wrote %d messages, want 1 (total 4)", n-3)
			}
			// A batch under a key is one unit: the repeat returns the first result, no new message.
			batch := map[string]any{"from": "app@example.org", "subject": "Hi {{n}}", "text": "x", "recipients": []any{
				map[string]any{"to": "b1@remote.test", "variables": map[string]string{"n": "1"}}, map[string]any{"to": "b2@remote.test"}}}
			b1 := e.v2("POST", "/api/v2/send/batch", batch, http.StatusAccepted, nil, "Idempotency-Key", "batch")
			b2 := e.v2("POST", "/api/v2/send/batch", batch, http.StatusAccepted, nil, "Idempotency-Key", "batch")
			if string(b1) != string(b2) || e.queuedCount() != 6 {
				t.Fatalf("batch repeat: %s vs %s, %d messages (want 6)", b1, b2, e.queuedCount())
			}
		})
	}
}

// TestIdempotencyStoreContract: Reserve is atomic, keys expire after the TTL, a released key
// can be reserved again.
func TestIdempotencyStoreContract(t *testing.T) {
	for name, mk := range map[string]func(testing.TB) (backend, string){"sqlite": sqliteBackend, "mariadb": mariadbBackend} {
		t.Run(name, func(t *testing.T) {
			st, dialect := mk(t)
			s, err := httpapi.NewSQLStore(st.DB(), dialect)
			if err != nil {
				t.Fatal(err)
			}
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
			ids, rows, err := s.IDRows(ctx, "acme/main", []string{"m1", "m2"}, []string{"t1", "t2"}, now)
			if err != nil || len(ids) != 2 || ids[1] <= ids[0] || len(rows) != 2 {
				t.Fatalf("ids: %v %v %v", ids, rows, err)
			}
			if _, _, found, err := s.MessageByID(ctx, "acme/main", ids[1]); err != nil || found {
				t.Fatalf("IDRows wrote the row itself: %v %v", found, err)
			}
			// Written by an acceptance, with message ids m1, m2 in place of real streams.
			acc, _ := acceptance(t, s, "a@remote.test", "b@remote.test")
			for i := range rows {
				acc.Rows[i] = rows[i]
			}
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
}
