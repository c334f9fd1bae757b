package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const dkimVectors = "../../../shared/eval/dkim/vectors"

func runDKIMCLI(t *testing.T, stdin []byte, args ...string) (int, string, string) {
	t.Helper()
	return runCLI(t, toolDeps(), stdin, append([]string{"dkim", "verify"}, args...)...)
}

func TestDKIMVerifyCLI(t *testing.T) {
	keys := filepath.Join(dkimVectors, "rfc8463/keys.txt")
	code, out, stderr := runDKIMCLI(t, nil, filepath.Join(dkimVectors, "rfc8463/signed.eml"), "--keys", keys)
	want := "pass d=football.example.com s=brisbane a=ed25519-sha256\npass d=football.example.com s=test a=rsa-sha256\n"
	if code != 0 || out != want {
		t.Fatalf("signed: exit %d out %q stderr %q; want 0 and %q", code, out, stderr, want)
	}

	tampered, err := os.ReadFile(filepath.Join(dkimVectors, "rfc8463/tampered-body.eml"))
	if err != nil {
		t.Fatal(err)
	}
	code, out, stderr = runDKIMCLI(t, tampered, "-", "--keys="+keys, "--json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 1 || len(lines) != 2 {
		t.Fatalf("tampered from stdin: exit %d out %q stderr %q; want 1 and two lines", code, out, stderr)
	}
	for _, l := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatal(err)
		}
		if rec["result"] != "fail" || rec["domain"] != "football.example.com" || !strings.Contains(rec["reason"].(string), "body hash") {
			t.Errorf("tampered record %s, want result fail d=football.example.com, a body hash reason", l)
		}
	}
	code, out, _ = runDKIMCLI(t, tampered, "-", "--keys", keys)
	if !strings.HasPrefix(out, "fail d=football.example.com s=brisbane a=ed25519-sha256: fail: body hash") || code != 1 {
		t.Errorf("tampered text: exit %d out %q", code, out)
	}

	if code, out, stderr := runDKIMCLI(t, nil, filepath.Join(dkimVectors, "rfc8463/unsigned.eml"), "--keys", keys); code != 2 || out != "" ||
		!strings.Contains(stderr, "no DKIM-Signature") || strings.Contains(stderr, "usage") {
		t.Errorf("unsigned: exit %d out %q stderr %q, want 2, no line, and no usage hint", code, out, stderr)
	}
	if code, _, _ := runDKIMCLI(t, nil); code != 2 {
		t.Errorf("no file: exit %d, want 2", code)
	}
	if code, _, _ := runDKIMCLI(t, nil, "x.eml", "--keys"); code != 2 {
		t.Errorf("--keys without a file: exit %d, want 2", code)
	}
	if code, _, stderr := runDKIMCLI(t, nil, filepath.Join(t.TempDir(), "missing.eml"), "--keys", keys); code != 1 || !strings.Contains(stderr, "missing.eml") {
		t.Errorf("missing file: exit %d stderr %q, want 1 naming the file", code, stderr)
	}
}
