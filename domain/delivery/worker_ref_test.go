package delivery

import (
	"bytes"
	"testing"
)

func TestWithRefField(t *testing.T) {
	body := []byte("From: a@example.org\r\nSubject: s\r\n\r\nhi\r\n")
	got := withRefField(body, "m-1.tag")
	if want := "X-Posthaste-Ref: m-1.tag\r\n" + string(body); string(got) != want {
		t.Errorf("CRLF body: %q, want %q", got, want)
	}
	if !bytes.Equal(body, []byte("From: a@example.org\r\nSubject: s\r\n\r\nhi\r\n")) {
		t.Error("the shared signed body was changed")
	}
	lf := []byte("From: a@example.org\n\nhi\n")
	if got := withRefField(lf, "m-1.tag"); string(got) != "X-Posthaste-Ref: m-1.tag\n"+string(lf) {
		t.Errorf("LF body: %q", got)
	}
	for _, bad := range []string{"", "a\r\nBcc: x@example.org", "a\nb"} {
		if got := withRefField(body, bad); !bytes.Equal(got, body) {
			t.Errorf("ref %q: %q, want the body unchanged", bad, got)
		}
	}
}
