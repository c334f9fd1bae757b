package submission_test

import (
	"strings"
	"testing"
	"time"

	"github.com/posthaste/posthaste/domain/submission"
)

func TestTranscriptRedactsSASL(t *testing.T) {
	now := pinned
	tr := submission.NewTranscript(func() time.Time { now = now.Add(time.Millisecond); return now }, 0)
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
	tr := submission.NewTranscript(nil, 3)
	for i := 0; i < 5; i++ {
		tr.Client("NOOP")
	}
	if l := tr.Lines(); len(l) != 3 || !strings.Contains(tr.String(), "2 more lines not kept") {
		t.Fatalf("lines %d:\n%s", len(l), tr.String())
	}
}
