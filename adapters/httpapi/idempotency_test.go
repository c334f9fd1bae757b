package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
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
