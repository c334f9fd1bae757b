package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestOversizedBodiesAndRateLimits(t *testing.T) {
	e := newEnv(t, sqliteBackend, options{rate: 1, burst: 3, max: 1024})
	big := `{"from":"app@example.org","to":["a@remote.test"],"subject":"s","text":"` + strings.Repeat("x", 2000) + `"}`
	code, hdr, out := e.do("POST", "/api/v2/send", big, "Authorization", "Bearer "+e.key)
	if code != http.StatusRequestEntityTooLarge || hdr.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("oversized v2 body: %d %s", code, out)
	}
	r := e.postal("/api/v1/send/raw", e.other, big)
	if r.Status != "error" || r.code() != "RequestTooLarge" {
		t.Fatalf("oversized v1 body: %s", r.raw)
	}
	if n := e.queuedCount(); n != 0 {
		t.Fatalf("oversized bodies wrote %d messages", n)
	}
	// Burst 3 per key (the 413 above took one): the fourth request is refused with Retry-After,
	// while another key still has its own bucket.
	e.v2("GET", "/api/v2/server", nil, 200, nil)
	e.v2("GET", "/api/v2/server", nil, 200, nil)
	code, hdr, out = e.do("GET", "/api/v2/server", nil, "Authorization", "Bearer "+e.key)
	if code != http.StatusTooManyRequests || hdr.Get("Retry-After") == "" {
		t.Fatalf("over the limit: %d %s", code, out)
	}
	if r := e.postal("/api/v1/messages/message", e.key, map[string]any{"id": 1}); r.code() != "TooManyRequests" {
		t.Fatalf("v1 over the limit: %s", r.raw)
	}
	if code, _, _ := e.do("GET", "/api/v2/server", nil, "Authorization", "Bearer "+e.other); code != 200 {
		t.Fatalf("the other key shares the bucket: %d", code)
	}
}
