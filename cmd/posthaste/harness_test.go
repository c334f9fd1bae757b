package main

// The one harness of the end-to-end tests: the BUILT binary run as a subprocess, the way an
// operator runs it (TestMain builds it once into a temporary directory, on first use), and the
// golden files its outputs are compared with. One switch rewrites every golden file:
//
//	POSTHASTE_UPDATE_GOLDEN=1 go test ./cmd/posthaste

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	e2eDir       string // TestMain's temporary directory, removed when the tests end
	e2eBuildOnce sync.Once
	e2eBin       string
	e2eBuildErr  error
)

// updateGolden rewrites the golden files instead of comparing with them.
var updateGolden = os.Getenv("POSTHASTE_UPDATE_GOLDEN") == "1"

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "posthaste-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: temp dir:", err)
		os.Exit(1)
	}
	e2eDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// binary builds the posthaste binary once per test process (on first use, so tests that do
// not run it, like the dependency rule in `make lint`, do not pay for the build).
func binary(t *testing.T) string {
	t.Helper()
	e2eBuildOnce.Do(func() {
		e2eBin = filepath.Join(e2eDir, "posthaste")
		out, err := exec.Command("go", "build", "-o", e2eBin, ".").CombinedOutput()
		if err != nil {
			e2eBuildErr = fmt.Errorf("go build posthaste: %v\n%s", err, out)
		}
	})
	if e2eBuildErr != nil {
		t.Fatal(e2eBuildErr)
	}
	return e2eBin
}

// baseEnv is the test process's environment without any POSTHASTE_ variable, plus env.
func baseEnv(env map[string]string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "POSTHASTE_") {
			out = append(out, kv)
		}
	}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// result is how one run of the binary ended.
type result struct {
	code           int
	stdout, stderr string
}

// execBin runs the binary to completion with exactly the environment env and stdin.
func execBin(t *testing.T, env []string, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run posthaste %v: %v", args, err)
	}
	return result{code, stdout.String(), stderr.String()}
}

// runBin runs the binary with baseEnv(env) and returns stdout, stderr and the exit status.
func runBin(t *testing.T, env map[string]string, args ...string) (string, string, int) {
	t.Helper()
	r := execBin(t, baseEnv(env), "", args...)
	return r.stdout, r.stderr, r.code
}

// mustRun runs the binary and fails the test unless it exits 0.
func mustRun(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	out, errOut, code := runBin(t, env, args...)
	if code != 0 {
		t.Fatalf("posthaste %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// checkGolden compares got with the golden file at path (under testdata/), or rewrites it with
// POSTHASTE_UPDATE_GOLDEN=1.
func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if updateGolden {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden %s: %v (POSTHASTE_UPDATE_GOLDEN=1 writes it)", path, err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file:\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// sendTestJSON is what the tests read of `send-test --json`.
type sendTestJSON struct {
	SubmissionID string `json:"submission_id"`
	MessageID    string `json:"message_id"`
	Header       string `json:"message_id_header"`
}
