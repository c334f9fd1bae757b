package smtpin_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/smtpin"
	"github.com/posthaste/posthaste/domain/submission"
)

// The listener lifecycle both servers share (listener.go), driven through each server's
// Start, Addrs and Shutdown.

type lifecycle interface {
	Start() error
	Addrs() []net.Addr
	Shutdown(ctx context.Context) error
}

type nopSubmitter struct{}

func (nopSubmitter) Submit(context.Context, submission.Submission) (submission.Result, error) {
	return submission.Result{}, errors.New("not in this test")
}

func testCert(t *testing.T) (tls.Certificate, *tls.Config) {
	t.Helper()
	cert, certPEM, _, err := smtpin.SelfSignedCertificate(testHost, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(certPEM)
	return cert, &tls.Config{RootCAs: roots, ServerName: testHost}
}

// servers builds a submission server on plain and implicitTLS, and an MX server on plain; the
// client configuration trusts their certificate.
func servers(t *testing.T, plain, implicitTLS []string) (map[string]lifecycle, *tls.Config) {
	t.Helper()
	cert, clientTLS := testCert(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sub, err := smtpin.New(smtpin.Config{Hostname: testHost, Listen: plain, ListenTLS: implicitTLS,
		TLS: &tls.Config{Certificates: []tls.Certificate{cert}}, ReadTimeout: 10 * time.Second,
		Submitter: nopSubmitter{}, Authenticator: &fakeAuth{}, Limiter: smtpin.NewMemoryLimiter(3, time.Minute, nil), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	mx, err := smtpin.NewMX(smtpin.MXConfig{Hostname: testHost, Listen: plain,
		TLS: &tls.Config{Certificates: []tls.Certificate{cert}}, ReadTimeout: 10 * time.Second,
		Receiver: &fakeReceiver{}, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]lifecycle{"submission": sub, "mx": mx}, clientTLS
}

func shutdown(t *testing.T, srv lifecycle, d time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return srv.Shutdown(ctx)
}

// freeAddr returns a loopback address nothing listens on (bound, then released).
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// A bind failure names the address that failed, and leaves the addresses already bound free.
func TestStartNamesTheAddressThatFailedAndBindsNothing(t *testing.T) {
	for name, mk := range map[string]func(free, taken string) lifecycle{
		"submission": func(free, taken string) lifecycle {
			srvs, _ := servers(t, []string{free}, []string{taken})
			return srvs["submission"]
		},
		"mx": func(free, taken string) lifecycle {
			srvs, _ := servers(t, []string{free, taken}, nil)
			return srvs["mx"]
		},
	} {
		t.Run(name, func(t *testing.T) {
			taken, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer taken.Close()
			free := freeAddr(t)
			srv := mk(free, taken.Addr().String())
			err = srv.Start()
			if err == nil {
				shutdown(t, srv, time.Second)
				t.Fatal("Start bound an address already in use")
			}
			if !strings.Contains(err.Error(), "listen "+taken.Addr().String()) || strings.Contains(err.Error(), free) {
				t.Fatalf("error %q: want the address that failed (%s), only", err, taken.Addr())
			}
			if len(srv.Addrs()) != 0 {
				t.Fatalf("Addrs after a failed Start: %v", srv.Addrs())
			}
			l, err := net.Listen("tcp", free)
			if err != nil {
				t.Fatalf("%s stayed bound after the failed Start: %v", free, err)
			}
			l.Close()
		})
	}
}

// Every configured address is served, in configuration order: plain ones greet in clear,
// implicit TLS ones after the handshake; Start twice is refused.
func TestEveryConfiguredAddressIsServed(t *testing.T) {
	srvs, clientTLS := servers(t, []string{"127.0.0.1:0", "127.0.0.1:0"}, []string{"127.0.0.1:0"})
	for name, srv := range srvs {
		t.Run(name, func(t *testing.T) {
			if err := srv.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { shutdown(t, srv, 2*time.Second) })
			if err := srv.Start(); err == nil || !strings.Contains(err.Error(), "already started") {
				t.Fatalf("second Start: %v", err)
			}
			addrs := srv.Addrs()
			want := map[string]int{"submission": 3, "mx": 2}[name]
			if len(addrs) != want {
				t.Fatalf("%d addresses bound, want %d: %v", len(addrs), want, addrs)
			}
			for i, a := range addrs {
				var c *rawClient
				if i < 2 {
					c = dialRaw(t, a.String())
				} else {
					c = dialRawTLS(t, a.String(), clientTLS)
				}
				c.expect("QUIT", "221")
			}
		})
	}
}

// Shutdown stops accepting at once, waits for an open session, and returns when it ends.
func TestShutdownWaitsForOpenSessions(t *testing.T) {
	srvs, _ := servers(t, []string{"127.0.0.1:0"}, nil)
	for name, srv := range srvs {
		t.Run(name, func(t *testing.T) {
			if err := srv.Start(); err != nil {
				t.Fatal(err)
			}
			addr := srv.Addrs()[0].String()
			c := dialRaw(t, addr)
			c.expect("EHLO client.test", "250")
			done := make(chan error, 1)
			go func() { done <- shutdown(t, srv, 10*time.Second) }()
			deadline := time.Now().Add(5 * time.Second)
			for {
				nc, err := net.DialTimeout("tcp", addr, time.Second)
				if err != nil {
					break // no longer accepting
				}
				nc.Close()
				if time.Now().After(deadline) {
					t.Fatal("still accepting after Shutdown began")
				}
				time.Sleep(10 * time.Millisecond)
			}
			select {
			case err := <-done:
				t.Fatalf("Shutdown returned (%v) while a session was open", err)
			case <-time.After(200 * time.Millisecond):
			}
			c.expect("NOOP", "250") // the open session still works
			c.expect("QUIT", "221")
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Shutdown: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Shutdown did not return after the last session ended")
			}
		})
	}
}

// A session still open when Shutdown's context ends is closed, and Shutdown says why it stopped.
func TestShutdownClosesSessionsLeftAtTheDeadline(t *testing.T) {
	srvs, _ := servers(t, []string{"127.0.0.1:0"}, nil)
	for name, srv := range srvs {
		t.Run(name, func(t *testing.T) {
			if err := srv.Start(); err != nil {
				t.Fatal(err)
			}
			c := dialRaw(t, srv.Addrs()[0].String())
			c.expect("EHLO client.test", "250")
			start := time.Now()
			if err := shutdown(t, srv, 200*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Shutdown: %v, want the context's deadline", err)
			}
			if d := time.Since(start); d < 200*time.Millisecond || d > 5*time.Second {
				t.Fatalf("Shutdown took %v, want about its 200ms", d)
			}
			c.conn.SetReadDeadline(time.Now().Add(3 * time.Second)) // the server's read timeout is 10s
			if _, err := c.r.ReadString('\n'); !isClosed(err) {
				t.Fatalf("session after Shutdown: read %v, want it closed", err)
			}
		})
	}
}
