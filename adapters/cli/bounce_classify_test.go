package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const cliBounce = `From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
To: sender@example.org
Subject: Undelivered Mail Returned to Sender

This is the mail system at host mx.example.net.

<bob@example.com>: host mx.example.com[192.0.2.7] said: 550 5.1.1
    <bob@example.com>: Recipient address rejected: User unknown (in reply to RCPT TO command)
`

func runBounceCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return runCLI(t, toolDeps(), nil, append([]string{"bounce", "classify"}, args...)...)
}

func TestBounceClassifyJSON(t *testing.T) {
	dir := t.TempDir()
	bounceFile := filepath.Join(dir, "one.eml")
	plainFile := filepath.Join(dir, "two.eml")
	if err := os.WriteFile(bounceFile, []byte(cliBounce), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(plainFile, []byte("From: a@example.com\nTo: b@example.com\nSubject: hi\n\nhello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runBounceCLI(t, bounceFile, plainFile, "--json")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines, got %q", out)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"file": "one.eml", "recipient": "bob@example.com", "class": "hard", "reason": "userunknown", "status": "5.1.1"}
	for k, v := range want {
		if rec[k] != v {
			t.Errorf("%s = %v, want %v (line %s)", k, rec[k], v, lines[0])
		}
	}
	if err := json.Unmarshal([]byte(lines[1]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["file"] != "two.eml" || rec["class"] != "none" {
		t.Errorf("non-bounce line %s, want file two.eml class none", lines[1])
	}
}

func TestBounceClassifyErrors(t *testing.T) {
	if code, _, _ := runBounceCLI(t); code != 2 {
		t.Errorf("no file: exit %d, want 2", code)
	}
	if code, _, _ := runBounceCLI(t, "--bogus", "x.eml"); code != 2 {
		t.Errorf("unknown flag: exit %d, want 2", code)
	}
	code, out, stderr := runBounceCLI(t, filepath.Join(t.TempDir(), "missing.eml"), "--json")
	if code != 1 || !strings.Contains(stderr, "missing.eml") || !strings.Contains(out, `"error"`) {
		t.Errorf("missing file: exit %d out %q stderr %q; want 1, an error record and the name on stderr", code, out, stderr)
	}
}
