package cli

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/sqlstore"
	"github.com/posthaste/posthaste/adapters/sqlstore/sqlstoretest"
	"github.com/posthaste/posthaste/domain/platform"
)

// TestExitStatusAndErrorLines: usage errors exit 2 with the synopsis, failures exit 1, each one
// line on stderr "posthaste CMD: message".
func TestExitStatusAndErrorLines(t *testing.T) {
	d := toolDeps()
	for _, tc := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"nonsense", "x", "--y"}, 2, `posthaste: unknown command "nonsense x --y" (see 'posthaste help')`},
		{[]string{"org"}, 2, `posthaste: unknown command "org" (see 'posthaste help')`},
		{[]string{"org", "nope"}, 2, `posthaste: unknown command "org nope" (see 'posthaste help')`},
		{[]string{"org", "create"}, 2, "posthaste org create: want exactly one NAME, got 0 arguments (usage: posthaste org create NAME [--json])"},
		{[]string{"migrate", "x"}, 2, `posthaste migrate: unexpected argument "x" (usage: posthaste migrate )`},
		{[]string{"events", "--since", "yesterday"}, 2, `posthaste events: --since: "yesterday" is neither RFC 3339 (2026-11-24T10:00:00Z) nor relative (-2h) (usage: posthaste events `},
		{[]string{"events", "--no-such-flag"}, 2, "posthaste events: unknown flag: --no-such-flag (usage: posthaste events "},
		{[]string{"messages", "--server", "acme/main", "--limit", "0"}, 2, "posthaste messages: --limit must be 1..1000 (usage: "},
		{[]string{"messages", "--server", "acme/main", "--query", "status:nope"}, 2, "posthaste messages: --query: "},
		{[]string{"credential", "create", "--server", "acme/main"}, 2, "posthaste credential create: --type smtp|api|smtp-ip is required (usage: "},
		{[]string{"replay"}, 2, "posthaste replay: name the projections to replay, or --all (usage: posthaste replay NAME…|--all [--json])"},
		{[]string{"replay", "a", "--all"}, 2, "posthaste replay: give projection names or --all, not both"},
		{[]string{"org", "create", "acme"}, 1, "posthaste org create: no store in this test"},
		{[]string{"serve"}, 1, "posthaste serve: no store in this test"},
		{[]string{"migrate"}, 1, "posthaste migrate: no store in this test"},
	} {
		code, _, stderr := runCLI(t, d, nil, tc.args...)
		if code != tc.code || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, tc.stderr) {
			t.Errorf("posthaste %s: exit %d, stderr %q; want %d and %q", strings.Join(tc.args, " "), code, stderr, tc.code, tc.stderr)
		}
	}
	if code, out, _ := runCLI(t, d, nil, "version"); code != 0 || !strings.HasPrefix(out, "posthaste test ") {
		t.Errorf("version: exit %d %q", code, out)
	}
}

// TestFlagsAnywhere: flags may come before, between and after the positional arguments; "--"
// ends them; an unknown flag is a usage error.
func TestFlagsAnywhere(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"a.eml", "b.eml", "--json"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("From: a@example.com\n\nhello\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	d := toolDeps()
	a, b := filepath.Join(dir, "a.eml"), filepath.Join(dir, "b.eml")
	code, out, _ := runCLI(t, d, nil, "bounce", "classify", a, "--json", b)
	if code != 0 || strings.Count(out, `"class":"none"`) != 2 {
		t.Errorf("interspersed --json: exit %d\n%s", code, out)
	}
	t.Chdir(dir)
	code, out, _ = runCLI(t, d, nil, "bounce", "classify", "a.eml", "--", "--json")
	if code != 0 || strings.Contains(out, "{") || strings.Count(out, "\n") != 2 {
		t.Errorf("after --: exit %d\n%s", code, out)
	}
	if code, _, _ := runCLI(t, d, nil, "bounce", "classify", "--nope", "a.eml"); code != 2 {
		t.Errorf("unknown flag: exit %d, want 2", code)
	}
}

// TestConfigFlagsReachOpen: the configuration flags given (and only those) are what Open gets.
func TestConfigFlagsReachOpen(t *testing.T) {
	d := toolDeps()
	var got Values
	d.Open = func(_ context.Context, v Values) (*Session, error) { got = v; return nil, errNoStore }
	runCLI(t, d, nil, "status", "--data-dir", "/srv/ph", "--webhook-allow-private=true", "--json")
	if len(got) != 2 || got["data-dir"] != "/srv/ph" || got["webhook-allow-private"] != "true" {
		t.Errorf("Open got %v", got)
	}
	d.Serve = func(_ context.Context, v Values) error { got = v; return nil }
	if code, _, _ := runCLI(t, d, nil, "serve", "--dns-resolver", "127.0.0.1:53"); code != 0 || len(got) != 1 || got["dns-resolver"] != "127.0.0.1:53" {
		t.Errorf("serve: exit %d, Serve got %v", code, got)
	}
	// Commands that read no configuration refuse its flags.
	if code, _, _ := runCLI(t, d, nil, "version", "--data-dir", "x"); code != 2 {
		t.Errorf("version --data-dir: exit %d, want 2", code)
	}
}

func TestExecuteRefusesMissingDeps(t *testing.T) {
	var errb strings.Builder
	code := Execute(context.Background(), []string{"version"}, Deps{Stderr: &errb})
	for _, want := range []string{"no settings", "open is nil", "migrate is nil", "serve is nil", "dkim is nil", "stdin is nil", "stdout is nil", "getenv is nil"} {
		if code != 1 || !strings.Contains(errb.String(), want) {
			t.Errorf("exit %d, stderr %q lacks %q", code, errb.String(), want)
		}
	}
	if strings.Count(errb.String(), "\n") != 1 {
		t.Errorf("want one line: %q", errb.String())
	}
}

// TestAdminCommandsActAsTheOperator runs commands in-process on an application over SQLite:
// every event they record is by cli:<OS user>, and their writes are read back at once.
func TestAdminCommandsActAsTheOperator(t *testing.T) {
	st := sqlstoretest.SQLite(t)
	d := toolDeps()
	d.Getenv = func(k string) string { return map[string]string{"USER": "alice"}[k] }
	d.Open = func(context.Context, Values) (*Session, error) {
		app, err := testApplication(t, st)
		return &Session{App: app, Close: func() error { return nil }}, err
	}
	for _, args := range [][]string{{"org", "create", "acme"}, {"server", "create", "acme/main", "--mode", "development"},
		{"domain", "create", "example.org", "--server", "acme/main", "--skip-verification"}} {
		if code, _, errOut := runCLI(t, d, nil, args...); code != 0 {
			t.Fatalf("posthaste %s: exit %d %s", strings.Join(args, " "), code, errOut)
		}
	}
	code, out, errOut := runCLI(t, d, nil, "send-test", "bob@remote.test", "--from", "ops@example.org", "--server", "acme/main", "--json")
	var sent struct {
		MessageID string `json:"message_id"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &sent) != nil {
		t.Fatalf("send-test: exit %d %s %s", code, out, errOut)
	}
	// The message view has not seen it: show reads the log.
	code, out, _ = runCLI(t, d, nil, "message", "show", sent.MessageID, "--json")
	if code != 0 || !strings.Contains(out, `"status":"held"`) || !strings.Contains(out, `"source":"log"`) {
		t.Errorf("message show: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, d, nil, "events", "--json")
	me := osUser(d.Getenv)
	if code != 0 || strings.Count(out, "\n") != 6 || strings.Count(out, `"actor":{"type":"cli","id":"`+me+`"}`) != 6 {
		t.Errorf("events: exit %d, want 6 events (org, server, domain added and verified, message queued and held), all by cli:%s\n%s", code, me, out)
	}
	if code, _, errOut := runCLI(t, d, nil, "message", "release", "nope"); code != 1 || !strings.Contains(errOut, `message "nope" not found`) {
		t.Errorf("release of an unknown message: exit %d %q", code, errOut)
	}
}

func testApplication(t *testing.T, st *sqlstore.Store) (*platform.Application, error) {
	secrets, err := st.Secrets([]byte("0123456789abcdef0123456789abcdef"), rand.Reader, time.Now)
	if err != nil {
		return nil, err
	}
	view, err := sqlstore.NewMessageView(st.DB())
	if err != nil {
		return nil, err
	}
	return platform.New(platform.Deps{Events: st, Acceptor: st, Bodies: st, Transcripts: st, Secrets: secrets, Messages: view,
		Config: platform.Config{Hostname: "mx.posthaste.test", ReturnPathDomain: "rp.posthaste.test", SPFInclude: "spf.posthaste.test"},
		Clock:  time.Now, Rand: rand.Reader, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}
