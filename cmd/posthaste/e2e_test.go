package main

// These tests run the BUILT binary as a subprocess, the way an operator does (harness_test.go).

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/posthaste/posthaste/adapters/sqlstore/sqlstoretest"
)

// syncBuffer collects a subprocess's stderr safely while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serveProc is a running `posthaste serve`.
type serveProc struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	http   string // base URL
	done   chan struct{}
	err    error
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServe starts serve with env (HTTP on a free port, SMTP on free ports) and waits until
// /readyz answers 200. The process is killed at cleanup if still running.
func startServe(t *testing.T, env map[string]string, args ...string) *serveProc {
	t.Helper()
	e := map[string]string{
		"POSTHASTE_HTTP_LISTEN": freeAddr(t),
		"POSTHASTE_SMTP_LISTEN": freeAddr(t),
		"POSTHASTE_LOG_LEVEL":   "debug",
	}
	for k, v := range env {
		e[k] = v
	}
	p := &serveProc{stderr: &syncBuffer{}, http: "http://" + e["POSTHASTE_HTTP_LISTEN"], done: make(chan struct{})}
	p.cmd = exec.Command(binary(t), append([]string{"serve"}, args...)...)
	p.cmd.Env = baseEnv(e)
	p.cmd.Stdout, p.cmd.Stderr = io.Discard, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start serve: %v", err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("serve stderr:\n%s", p.stderr.String())
		}
	})
	deadline := time.Now().Add(90 * time.Second)
	for {
		select {
		case <-p.done:
			t.Fatalf("serve exited before ready: %v\n%s", p.err, p.stderr.String())
		default:
		}
		if code, _ := httpGet(p.http + "/readyz"); code == http.StatusOK {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve not ready after 90s\n%s", p.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop sends SIGTERM and returns the exit status (-1 when killed by a signal).
func (p *serveProc) stop(t *testing.T) int {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("serve did not exit within 60s of SIGTERM\n%s", p.stderr.String())
	}
	return p.cmd.ProcessState.ExitCode()
}

// kill9 kills the process without warning, as a crash would.
func (p *serveProc) kill9(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("SIGKILL: %v", err)
	}
	<-p.done
}

func httpGet(u string) (int, string) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(u)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServeEmbeddedDefault(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	p := startServe(t, map[string]string{"POSTHASTE_DATA_DIR": dataDir})

	if code, body := httpGet(p.http + "/livez"); code != 200 || !strings.Contains(body, "ok") {
		t.Errorf("/livez = %d %q", code, body)
	}
	if code, body := httpGet(p.http + "/readyz"); code != 200 || !strings.Contains(body, "sqlite") {
		t.Errorf("/readyz = %d %q", code, body)
	}
	code, metrics := httpGet(p.http + "/metrics")
	for _, m := range []string{"posthaste_event_append_seconds", "posthaste_relay_lag_events 0",
		`posthaste_projection_lag_events{projection="event_counts"}`, "posthaste_dead_letters", "go_goroutines", `posthaste_backend_up{backend="sqlite"} 1`, "posthaste_relay_leader 1"} {
		if code != 200 || !strings.Contains(metrics, m) {
			t.Errorf("/metrics (%d) lacks %q", code, m)
		}
	}
	// The embedded default created and migrated its SQLite file and generated its key, 0600.
	if _, err := os.Stat(filepath.Join(dataDir, "posthaste.db")); err != nil {
		t.Errorf("no SQLite file: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(dataDir, "secret.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("secret key file: %v %v", fi, err)
	}
	// Admin commands work beside a running serve, on the same file.
	if out := mustRun(t, map[string]string{"POSTHASTE_DATA_DIR": dataDir}, "status", "--json"); !strings.Contains(out, `"backend":"embedded"`) {
		t.Errorf("status --json = %s", out)
	}
	if code := p.stop(t); code != 0 {
		t.Fatalf("serve exit status after SIGTERM = %d, want 0\n%s", code, p.stderr.String())
	}
	if !strings.Contains(p.stderr.String(), "posthaste: stopped") {
		t.Errorf("serve did not log a clean stop:\n%s", p.stderr.String())
	}
}

func TestConfigValidationListsEveryProblem(t *testing.T) {
	_, stderr, code := runBin(t, map[string]string{
		"POSTHASTE_DATA_DIR":         t.TempDir(),
		"POSTHASTE_DATABASE_URL":     "mysql://root@127.0.0.1:3306/x",
		"POSTHASTE_MAX_MESSAGE_SIZE": "lots",
		"POSTHASTE_RETRY_INITIAL":    "soon",
		"POSTHASTE_LOG_LEVEL":        "chatty",
	}, "serve", "--retry-factor", "zero", "--roles", "web,teleport")
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr %q", code, stderr)
	}
	if n := strings.Count(strings.TrimSpace(stderr), "\n"); n != 0 {
		t.Errorf("want one line on stderr, got %d:\n%s", n+1, stderr)
	}
	for _, want := range []string{"POSTHASTE_MAX_MESSAGE_SIZE", "POSTHASTE_RETRY_INITIAL", "POSTHASTE_LOG_LEVEL",
		"POSTHASTE_RETRY_FACTOR", `unknown role "teleport"`, "POSTHASTE_AMQP_URL, POSTHASTE_REDIS_URL", "POSTHASTE_SECRET_KEY: required"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

func TestUsageErrorsExitTwo(t *testing.T) {
	for _, args := range [][]string{{"events", "--no-such-flag"}, {"replay"}, {"replay", "no_such_projection"}, {"nonsense"}, {"events", "--since", "yesterday"}} {
		_, stderr, code := runBin(t, map[string]string{"POSTHASTE_DATA_DIR": t.TempDir()}, args...)
		if code != 2 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("posthaste %v: exit %d, stderr %q; want 2 and one line", args, code, stderr)
		}
	}
	if out := mustRun(t, nil, "version"); !strings.HasPrefix(out, "posthaste ") {
		t.Errorf("version = %q", out)
	}
}

// productionEnv returns the environment of a production-stack serve on a fresh MariaDB
// database, its own exchange and queue names and its own Redis prefix; the exchanges and queues
// are deleted at cleanup.
func productionEnv(t *testing.T) (map[string]string, string) {
	t.Helper()
	dsn := sqlstoretest.MariaDBEmptyDSN(t)
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u := url.URL{Scheme: "mysql", Host: cfg.Addr, Path: "/" + cfg.DBName}
	if cfg.Passwd != "" {
		u.User = url.UserPassword(cfg.User, cfg.Passwd)
	} else {
		u.User = url.User(cfg.User)
	}
	var b [6]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	var key [32]byte
	rand.Read(key[:])
	amqpURL := envOr("POSTHASTE_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
	env := map[string]string{
		"POSTHASTE_DATA_DIR":          t.TempDir(),
		"POSTHASTE_DATABASE_URL":      u.String(),
		"POSTHASTE_AMQP_URL":          amqpURL,
		"POSTHASTE_REDIS_URL":         envOr("POSTHASTE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
		"POSTHASTE_SECRET_KEY":        hex.EncodeToString(key[:]),
		"POSTHASTE_AMQP_EXCHANGE":     "posthaste-test." + id + ".events",
		"POSTHASTE_AMQP_QUEUE_PREFIX": "posthaste-test." + id + ".projection.",
		"POSTHASTE_REDIS_PREFIX":      "posthaste-test:" + id + ":",
	}
	conn, err := amqp.Dial(amqpURL)
	if err != nil {
		t.Fatalf("rabbitmq not reachable at %s: %v", amqpURL, err)
	}
	conn.Close()
	t.Cleanup(func() {
		conn, err := amqp.Dial(amqpURL)
		if err != nil {
			return
		}
		defer conn.Close()
		for _, p := range platformProjections() {
			for _, q := range []string{env["POSTHASTE_AMQP_QUEUE_PREFIX"] + p.Name(), env["POSTHASTE_AMQP_QUEUE_PREFIX"] + p.Name() + ".dead"} {
				if ch, err := conn.Channel(); err == nil {
					ch.QueueDelete(q, false, false, false)
					ch.Close()
				}
			}
		}
		for _, ex := range []string{env["POSTHASTE_AMQP_EXCHANGE"], env["POSTHASTE_AMQP_EXCHANGE"] + ".dlx"} {
			if ch, err := conn.Channel(); err == nil {
				ch.ExchangeDelete(ex, false, false)
				ch.Close()
			}
		}
	})
	return env, dsn
}
