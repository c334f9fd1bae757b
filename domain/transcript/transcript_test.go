package transcript_test

import (
	"strings"
	"testing"
	"time"

	"github.com/posthaste/posthaste/domain/transcript"
)

var pinned = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func TestTranscriptRedactsSASL(t *testing.T) {
	now := pinned
	tr := transcript.New(func() time.Time { now = now.Add(time.Millisecond); return now }, transcript.Timed, 0)
	tr.Client("EHLO client.test\r\n")
	tr.Server("250 mx")
	tr.Client("AUTH PLAIN AGJvYgBodW50ZXIy") // initial response
	tr.Server("535 5.7.8 Authentication credentials invalid")
	tr.Client("auth login")
	tr.Server("334 VXNlcm5hbWU6")
	tr.Client("Ym9i")
	tr.Server("334 UGFzc3dvcmQ6")
	tr.Client("aHVudGVyMg==")
	tr.Server("235 2.7.0 Authentication successful")
	tr.Client("MAIL FROM:<bob@example.com>")
	tr.Client("AUTH PLAIN")
	tr.Server("334 ")
	tr.Client("*")
	tr.Server("501 5.0.0 Negotiation cancelled")
	tr.Note("connection closed")
	got := tr.String()
	for _, secret := range []string{"AGJvYgBodW50ZXIy", "Ym9i", "aHVudGVyMg=="} {
		if strings.Contains(got, secret) {
			t.Fatalf("transcript leaks %q:\n%s", secret, got)
		}
	}
	want := []string{"C: EHLO client.test", "C: AUTH PLAIN <redacted>", "S: 535", "C: AUTH LOGIN", "C: <redacted>",
		"S: 235", "C: MAIL FROM:<bob@example.com>", "C: *", "*: connection closed"}
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("transcript lacks %q:\n%s", w, got)
		}
	}
	if n := strings.Count(got, "<redacted>"); n != 3 {
		t.Errorf("%d redactions, want 3:\n%s", n, got)
	}
	if !strings.HasPrefix(got, "+1ms C: EHLO") {
		t.Errorf("offsets from the injected clock: %q", got)
	}
}

func TestTranscriptBounded(t *testing.T) {
	tr := transcript.New(nil, transcript.Timed, 3)
	for i := 0; i < 5; i++ {
		tr.Client("NOOP")
	}
	if l := tr.Lines(); len(l) != 3 || !strings.Contains(tr.String(), "2 more lines not kept") {
		t.Fatalf("lines %d:\n%s", len(l), tr.String())
	}
}

// The delivery client's layout: protocol lines bare, notes with their offset rounded to the
// millisecond, a truncation marker past the bound, nothing at all for an empty transcript.
func TestDialogueLayout(t *testing.T) {
	now := pinned
	tr := transcript.New(func() time.Time { return now }, transcript.Dialogue, 5)
	if got := tr.String(); got != "" {
		t.Fatalf("empty transcript %q", got)
	}
	now = now.Add(1234567 * time.Microsecond)
	tr.Note("connecting to %s (%s)", "mx.example.com", "192.0.2.1:25")
	tr.Server("220 mx.example.com ESMTP")
	tr.Client("EHLO out.test")
	tr.Client("AUTH PLAIN AHVzZXIAc2VjcmV0")
	tr.Server("235 2.7.0 ok")
	tr.Client("MAIL FROM:<a@b>")
	tr.Server("250 ok")
	want := "* 1.235s connecting to mx.example.com (192.0.2.1:25)\nS: 220 mx.example.com ESMTP\nC: EHLO out.test\n" +
		"C: AUTH PLAIN <redacted>\nS: 235 2.7.0 ok\n* transcript truncated\n"
	if got := tr.String(); got != want {
		t.Fatalf("transcript\n%s\nwant\n%s", got, want)
	}
}

// A client brackets the exchange it runs: everything it sends in between but the AUTH
// command is redacted, even after the server's final reply (the "*" that aborts a refused
// AUTH); the server's automatic rule ends with that reply.
func TestBeginEndAuth(t *testing.T) {
	tr := transcript.New(nil, transcript.Dialogue, 0)
	tr.BeginAuth()
	tr.Client("AUTH PLAIN c2VjcmV0")
	tr.Server("535 5.7.8 authentication failed")
	tr.Client("*")
	tr.EndAuth()
	tr.Client("AUTH LOGIN")
	tr.Client("c2VjcmV0")
	tr.EndAuth()
	tr.Client("QUIT")
	want := "C: AUTH PLAIN <redacted>\nS: 535 5.7.8 authentication failed\nC: <redacted>\nC: AUTH LOGIN\nC: <redacted>\nC: QUIT\n"
	if got := tr.String(); got != want {
		t.Fatalf("transcript %q, want %q", got, want)
	}
}
