package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"github.com/posthaste/posthaste/adapters/httpapi"
	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/platform"
	"github.com/posthaste/posthaste/events"
)

// The event feed needs the admin token: none, a wrong one, an API key, or any token when no
// admin token is configured answer 401 text with a WWW-Authenticate challenge.
func TestEventFeedNeedsTheAdminToken(t *testing.T) {
	e := newEnv(t, sqliteBackend, options{})
	closed, err := httpapi.New(httpapi.Config{App: e.app, Store: e.store.API(), Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		h    http.Handler
		hdr  []string
	}{
		{"no token", e.api.Handler(), nil},
		{"wrong token", e.api.Handler(), []string{"Authorization", "Bearer wrong"}},
		{"api key", e.api.Handler(), []string{"Authorization", "Bearer " + e.key}},
		{"api key header", e.api.Handler(), []string{"X-Server-API-Key", e.key}},
		{"no admin token configured", closed.Handler(), []string{"Authorization", "Bearer "}},
		{"no admin token configured, the other's", closed.Handler(), []string{"Authorization", "Bearer " + e.admin}},
	} {
		w := serve(c.h, "GET", "/api/v2/events", c.hdr...)
		if w.Code != http.StatusUnauthorized || w.Header().Get("WWW-Authenticate") != `Bearer realm="posthaste"` ||
			w.Body.String() != "the event feed needs the admin token (POSTHASTE_ADMIN_TOKEN) as a Bearer token\n" {
			t.Errorf("%s: %d %q %q", c.name, w.Code, w.Header(), w.Body.String())
		}
	}
	if w := serve(e.api.Handler(), "GET", "/api/v2/events", "Authorization", "Bearer "+e.admin); w.Code != 200 {
		t.Errorf("admin token: %d %s", w.Code, w.Body.String())
	}
}

// feedLine is one line of the feed: the position and the envelope's members.
type feedLine struct {
	Position int64  `json:"position"`
	ID       string `json:"id"`
	Type     string `json:"type"`
}

// TestEventFeedPages follows the feed three events at a time from position 0: it gives every
// positioned event of the log once, in position order, each line the position then the
// envelope as stored; past the end it answers nothing and after itself.
func TestEventFeedPages(t *testing.T) {
	for name, mk := range map[string]func(testing.TB) (backend, string){"sqlite": sqliteBackend, "mariadb": mariadbBackend} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, mk, options{})
			e.v2("POST", "/api/v2/send", map[string]any{"from": "app@example.org", "to": []string{"a@remote.test", "b@remote.test"}, "subject": "s", "text": "t"}, 202, nil)
			e.stamp()
			all, err := e.app.Queries.AuditTrail(context.Background(), platform.Operator(events.Actor{Type: events.ActorCLI, ID: "test"}), domain.EventFilter{Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			if len(all) < 10 || all[len(all)-1].Position == 0 {
				t.Fatalf("the log has %d events (last %+v)", len(all), all[len(all)-1])
			}
			var got []feedLine
			after, pages := int64(0), 0
			for {
				code, hdr, body := e.do("GET", fmt.Sprintf("/api/v2/events?after=%d&limit=3", after), nil, "Authorization", "Bearer "+e.admin)
				if code != 200 || hdr.Get("Content-Type") != "application/x-ndjson" {
					t.Fatalf("after %d: %d %q %s", after, code, hdr.Get("Content-Type"), body)
				}
				next, err := strconv.ParseInt(hdr.Get("X-Posthaste-Next-After"), 10, 64)
				if err != nil {
					t.Fatalf("X-Posthaste-Next-After %q", hdr.Get("X-Posthaste-Next-After"))
				}
				sc := bufio.NewScanner(bytes.NewReader(body))
				n := 0
				for sc.Scan() {
					var l feedLine
					if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
						t.Fatalf("line %q: %v", sc.Text(), err)
					}
					got = append(got, l)
					n++
				}
				if n > 3 {
					t.Fatalf("page after %d has %d lines", after, n)
				}
				if n == 0 {
					if next != after {
						t.Fatalf("an empty page says next after %d, want %d", next, after)
					}
					break
				}
				if next != got[len(got)-1].Position {
					t.Fatalf("next after %d, last position %d", next, got[len(got)-1].Position)
				}
				after = next
				pages++
			}
			if len(got) != len(all) || pages < len(all)/3 {
				t.Fatalf("the feed gave %d events in %d pages, the log has %d", len(got), pages, len(all))
			}
			for i, l := range got {
				if l.Position != all[i].Position || l.ID != all[i].Envelope.ID || l.Type != all[i].Envelope.Type {
					t.Fatalf("line %d = %+v, want position %d %s %s", i, l, all[i].Position, all[i].Envelope.ID, all[i].Envelope.Type)
				}
			}
			// A line is the position, then the stored envelope's members as they are.
			_, _, body := e.do("GET", "/api/v2/events?limit=1", nil, "Authorization", "Bearer "+e.admin)
			env, err := events.Marshal(all[0].Envelope)
			if err != nil {
				t.Fatal(err)
			}
			if want := fmt.Sprintf(`{"position":%d,%s`, all[0].Position, env[1:]) + "\n"; string(body) != want {
				t.Errorf("first line\n%s\nwant\n%s", body, want)
			}
			for _, q := range []string{"after=-1", "after=x", "limit=0", "limit=1001"} {
				if code, _, body := e.do("GET", "/api/v2/events?"+q, nil, "Authorization", "Bearer "+e.admin); code != 400 {
					t.Errorf("%s: %d %s", q, code, body)
				}
			}
		})
	}
}

// /.well-known/jwks.json publishes the public half of the Postal signing key the application
// keeps (made the first time), the same document on every request, GET and HEAD only.
func TestJWKSPublishesThePostalSigningKey(t *testing.T) {
	e := newEnv(t, sqliteBackend, options{})
	code, hdr, body := e.do("GET", "/.well-known/jwks.json", nil)
	if code != 200 || hdr.Get("Content-Type") != "application/json" || hdr.Get("Cache-Control") != "public, max-age=300" {
		t.Fatalf("jwks: %d %q %s", code, hdr, body)
	}
	var set struct {
		Keys []struct {
			Kid, Kty, N, E string
		}
	}
	if err := json.Unmarshal(body, &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("jwks %s: %v", body, err)
	}
	k, err := e.app.Queries.PostalSigningKey(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if set.Keys[0].Kid != k.KID || set.Keys[0].Kty != "RSA" || set.Keys[0].N == "" {
		t.Errorf("jwks key %+v, want kid %s", set.Keys[0], k.KID)
	}
	if _, _, again := e.do("GET", "/.well-known/jwks.json", nil); !bytes.Equal(again, body) {
		t.Errorf("second answer differs:\n%s\n%s", again, body)
	}
	if w := serve(e.api.Handler(), "HEAD", "/.well-known/jwks.json"); w.Code != 200 {
		t.Errorf("HEAD: %d", w.Code)
	}
	if w := serve(e.api.Handler(), "POST", "/.well-known/jwks.json"); w.Code != http.StatusNotFound {
		t.Errorf("POST: %d", w.Code)
	}
}
