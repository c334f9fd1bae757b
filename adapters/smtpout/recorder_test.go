package smtpout

import (
	"strings"
	"testing"
	"time"
)

func TestTranscriptRedactsAuthAndOmitsContent(t *testing.T) {
	now := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	tr := newRecorder(func() time.Time { return now })
	w := func(s string) { tr.Write([]byte(s)) }
	w("EHLO out.test\r\n")
	w("250-relay.test\r\n250-AUTH PLAIN LOGIN\r\n25") // a reply split across reads
	w("0 8BITMIME\r\n")
	tr.BeginAuth()
	w("AUTH LOGIN\r\n")
	w("334 VXNlcm5hbWU6\r\n")
	w("dXNlcm5hbWU=\r\n") // "username"
	w("334 UGFzc3dvcmQ6\r\n")
	w("cGFzc3dvcmQ=\r\n") // "password"
	w("235 2.7.0 ok\r\n")
	w("AUTH PLAIN AHVzZXIAc2VjcmV0\r\n")
	tr.EndAuth()
	w("MAIL FROM:<a@b>\r\n250 ok\r\n")
	tr.startContent()
	w("Subject: private\r\n\r\n250 looks like a reply but is content\r\n.\r\n")
	tr.endContent()
	got := tr.String()
	want := strings.Join([]string{
		"C: EHLO out.test", "S: 250-relay.test", "S: 250-AUTH PLAIN LOGIN", "S: 250 8BITMIME",
		"C: AUTH LOGIN", "S: 334 VXNlcm5hbWU6", "C: <redacted>", "S: 334 UGFzc3dvcmQ6", "C: <redacted>",
		"S: 235 2.7.0 ok", "C: AUTH PLAIN <redacted>", "C: MAIL FROM:<a@b>", "S: 250 ok",
	}, "\n") + "\n"
	if got != want {
		t.Fatalf("transcript\n%s\nwant\n%s", got, want)
	}
}

func TestSplitEnhancedAndReadReply(t *testing.T) {
	for in, want := range map[string][2]string{
		"2.0.0 Ok: queued as X": {"2.0.0", "Ok: queued as X"},
		"5.1.10 null MX":        {"5.1.10", "null MX"},
		"Ok queued":             {"", "Ok queued"},
		"1.2.3 nope":            {"", "1.2.3 nope"},
	} {
		if e, r := splitEnhanced(in); e != want[0] || r != want[1] {
			t.Errorf("splitEnhanced(%q) = %q, %q", in, e, r)
		}
	}
	if !hasExtension([]string{"250-mx.test", "250-PIPELINING", "250 STARTTLS"}, "STARTTLS") ||
		hasExtension([]string{"250-mx.test", "250 STARTTLSX"}, "STARTTLS") {
		t.Fatal("hasExtension")
	}
}
