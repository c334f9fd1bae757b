package smtpin_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/smtpin"
	"github.com/posthaste/posthaste/domain/submission"
	"github.com/posthaste/posthaste/domain/transcript"
	"github.com/posthaste/posthaste/events"
)

const (
	testHost     = "mx.posthaste.test"
	testUser     = "billing-smtp"
	testPassword = "s3cret-Passw0rd"
	testServerID = "server-1"
	testCredID   = "cred-1"
)

// fakeAuth is the test double of the tenancy-backed Authenticator.
type fakeAuth struct {
	users map[string]string // user -> password
	hold  bool
	ipNet []netip.Prefix
}

func (a *fakeAuth) AuthPlain(_ context.Context, user, pass string) (submission.Principal, error) {
	if p, ok := a.users[user]; ok && p == pass {
		return submission.Principal{ServerID: testServerID, CredentialID: testCredID, Hold: a.hold}, nil
	}
	return submission.Principal{}, submission.ErrBadCredentials
}

func (a *fakeAuth) ByClientIP(_ context.Context, ip netip.Addr) (submission.Principal, bool, error) {
	for _, p := range a.ipNet {
		if p.Contains(ip) {
			return submission.Principal{ServerID: testServerID, CredentialID: "cred-ip"}, true, nil
		}
	}
	return submission.Principal{}, false, nil
}

type fakeDomains struct{ verified map[string]bool }

func (d fakeDomains) IsVerifiedSenderDomain(_ context.Context, serverID, domain string) (bool, error) {
	return serverID == testServerID && d.verified[domain], nil
}

// recordingAcceptor is the test double of the durable Acceptor: it keeps what it was given.
type recordingAcceptor struct {
	mu  sync.Mutex
	got []submission.Acceptance
}

func (r *recordingAcceptor) Accept(_ context.Context, a submission.Acceptance) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, a)
	return nil
}

func (r *recordingAcceptor) all() []submission.Acceptance {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]submission.Acceptance(nil), r.got...)
}

type testEnv struct {
	srv         *smtpin.Server
	plainAddr   string
	tlsAddr     string
	acc         *recordingAcceptor
	roots       *x509.CertPool
	mu          sync.Mutex
	transcripts []string
}

type envOpt func(*smtpin.Config, *fakeAuth)

func newEnv(t testing.TB, opts ...envOpt) *testEnv {
	t.Helper()
	cert, certPEM, _, err := smtpin.SelfSignedCertificate(testHost, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(certPEM)
	acc := &recordingAcceptor{}
	h, err := submission.NewHandler(submission.Config{Hostname: testHost, Domains: fakeDomains{verified: map[string]bool{"example.com": true}}, Acceptor: acc})
	if err != nil {
		t.Fatal(err)
	}
	env := &testEnv{acc: acc, roots: roots}
	auth := &fakeAuth{users: map[string]string{testUser: testPassword}}
	cfg := smtpin.Config{
		Hostname:        testHost,
		Listen:          []string{"127.0.0.1:0"},
		ListenTLS:       []string{"127.0.0.1:0"},
		TLS:             &tls.Config{Certificates: []tls.Certificate{cert}},
		MaxMessageBytes: 64 << 10,
		ReadTimeout:     10 * time.Second,
		WriteTimeout:    10 * time.Second,
		Submitter:       h,
		Authenticator:   auth,
		Limiter:         smtpin.NewMemoryLimiter(3, time.Minute, nil),
		Logger:          slog.New(slog.NewTextHandler(io.Discard, nil)),
		OnTranscript: func(_ smtpin.ConnInfo, tr *transcript.Transcript) {
			env.mu.Lock()
			env.transcripts = append(env.transcripts, tr.String())
			env.mu.Unlock()
		},
	}
	if testing.Verbose() {
		cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, nil))
	}
	for _, o := range opts {
		o(&cfg, auth)
	}
	srv, err := smtpin.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	env.srv = srv
	addrs := srv.Addrs()
	env.plainAddr = addrs[0].String()
	if len(addrs) > 1 {
		env.tlsAddr = addrs[1].String()
	}
	return env
}

func (e *testEnv) tlsConfig() *tls.Config {
	return &tls.Config{RootCAs: e.roots, ServerName: testHost}
}

// queued returns every message.queued payload the acceptor got.
func (e *testEnv) queued(t testing.TB) []events.MessageQueued {
	t.Helper()
	var out []events.MessageQueued
	for _, a := range e.acc.all() {
		for _, env := range a.Events {
			ev, err := events.Decode(env)
			if err != nil {
				t.Fatal(err)
			}
			if q, ok := ev.(*events.MessageQueued); ok {
				out = append(out, *q)
			}
		}
	}
	return out
}

func (e *testEnv) assertNothingAccepted(t testing.TB) {
	t.Helper()
	if got := e.acc.all(); len(got) != 0 {
		t.Fatalf("acceptor saw %d submissions, want none", len(got))
	}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// rawClient speaks SMTP by writing exact bytes and reading whole replies.
type rawClient struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
}

func dialRaw(t testing.TB, addr string) *rawClient {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return newRaw(t, c)
}

func dialRawTLS(t testing.TB, addr string, cfg *tls.Config) *rawClient {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return newRaw(t, c)
}

func newRaw(t testing.TB, c net.Conn) *rawClient {
	c.SetDeadline(time.Now().Add(20 * time.Second))
	rc := &rawClient{t: t, conn: c, r: bufio.NewReader(c)}
	t.Cleanup(func() { c.Close() })
	if got := rc.reply(); !strings.HasPrefix(got, "220 ") {
		t.Fatalf("greeting %q", got)
	}
	return rc
}

// reply reads one (possibly multi-line) reply and returns it with lines joined by "\n".
func (c *rawClient) reply() string {
	c.t.Helper()
	var lines []string
	for {
		l, err := c.r.ReadString('\n')
		if err != nil {
			c.t.Fatalf("read reply: %v (so far %q)", err, lines)
		}
		l = strings.TrimRight(l, "\r\n")
		lines = append(lines, l)
		if len(l) < 4 || l[3] == ' ' {
			return strings.Join(lines, "\n")
		}
	}
}

func (c *rawClient) send(b string) {
	c.t.Helper()
	if _, err := io.WriteString(c.conn, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// cmd sends one command line (CRLF added) and returns the reply.
func (c *rawClient) cmd(line string) string {
	c.t.Helper()
	c.send(line + "\r\n")
	return c.reply()
}

func (c *rawClient) expect(line, prefix string) string {
	c.t.Helper()
	got := c.cmd(line)
	if !strings.HasPrefix(got, prefix) {
		c.t.Fatalf("%q: got %q, want prefix %q", line, got, prefix)
	}
	return got
}

func plainIR(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
}

// login does EHLO and AUTH PLAIN on an already-secure connection.
func (c *rawClient) login() {
	c.t.Helper()
	c.expect("EHLO client.test", "250")
	c.expect("AUTH PLAIN "+plainIR(testUser, testPassword), "235 2.0.0")
}

func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET)
}

const goodMessage = "From: Billing <billing@example.com>\r\nTo: Ann <ann@dest.test>\r\nSubject: Invoice 42\r\nX-Postal-Tag: invoices\r\n\r\nHello Ann,\r\nyour invoice.\r\n"
