package smtpin_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/smtpin"
	"github.com/posthaste/posthaste/domain/inbound"
)

// fakeReceiver records what the MX listener hands over and can fail on demand.
type fakeReceiver struct {
	mu           sync.Mutex
	got          []inbound.Envelope
	processed    []string
	failReceive  bool
	failProcess  bool
	panicProcess bool
}

func (f *fakeReceiver) AcceptsDomain(d string) bool { return strings.EqualFold(d, "rp.example.test") }

func (f *fakeReceiver) Receive(_ context.Context, env inbound.Envelope) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failReceive {
		return "", errors.New("disk full")
	}
	f.got = append(f.got, env)
	return "r-" + string(rune('0'+len(f.got))), nil
}

func (f *fakeReceiver) Process(_ context.Context, id string) (inbound.Report, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.panicProcess {
		panic("parser bug")
	}
	if f.failProcess {
		return inbound.Report{}, errors.New("event store down")
	}
	f.processed = append(f.processed, id)
	return inbound.Report{ID: id, Status: inbound.StatusLinked}, nil
}

func (f *fakeReceiver) envelopes() []inbound.Envelope {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]inbound.Envelope(nil), f.got...)
}

func newMX(t *testing.T, rcv *fakeReceiver) (string, *tls.Config) {
	t.Helper()
	cert, certPEM, _, err := smtpin.SelfSignedCertificate(testHost, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(certPEM)
	srv, err := smtpin.NewMX(smtpin.MXConfig{
		Hostname: testHost, Listen: []string{"127.0.0.1:0"}, TLS: &tls.Config{Certificates: []tls.Certificate{cert}},
		MaxMessageBytes: 4 << 10, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second,
		Receiver: rcv, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
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
	return srv.Addrs()[0].String(), &tls.Config{RootCAs: roots, ServerName: testHost}
}

const dsnBody = "From: MAILER-DAEMON@remote.test\r\nSubject: failure\r\n\r\nreport\r\n"

func TestNewMXRefusesMissingDependencies(t *testing.T) {
	_, err := smtpin.NewMX(smtpin.MXConfig{})
	if err == nil {
		t.Fatal("NewMX accepted an empty config")
	}
	for _, w := range []string{"hostname", "tls", "listen", "receiver", "logger"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not name the %s", err, w)
		}
	}
}

func TestMXAcceptsOnlyTheReturnPathDomain(t *testing.T) {
	rcv := &fakeReceiver{}
	addr, _ := newMX(t, rcv)
	c := dialRaw(t, addr)
	ehlo := c.expect("EHLO reporter.test", "250")
	if !strings.Contains(ehlo, "STARTTLS") || strings.Contains(ehlo, "AUTH") {
		t.Errorf("EHLO %q: want STARTTLS offered and no AUTH", ehlo)
	}
	c.expect("MAIL FROM:<>", "250")
	c.expect("RCPT TO:<someone@example.com>", "550 5.7.1")
	c.expect("RCPT TO:<b+abc@rp.posthaste.test.evil>", "550 5.7.1")
	c.expect("RCPT TO:<b..abc@RP.example.test>", "501 5.1.3") // syntax (domain/address) before the domain check
	c.expect("RCPT TO:<b+abc@RP.example.test>", "250")
	c.expect("DATA", "354")
	c.send(dsnBody + ".\r\n")
	if got := c.reply(); !strings.HasPrefix(got, "250 2.0.0") || !strings.Contains(got, "r-1") {
		t.Errorf("end of data: %q, want 250 with the report id", got)
	}
	envs := rcv.envelopes()
	if len(envs) != 1 || string(envs[0].Raw) != dsnBody || envs[0].MailFrom != "" || len(envs[0].RcptTo) != 1 ||
		envs[0].RcptTo[0] != "b+abc@RP.example.test" || envs[0].ClientIP != "127.0.0.1" || envs[0].TLS {
		t.Errorf("received %+v", envs)
	}
	if len(rcv.processed) != 1 {
		t.Errorf("processed %v, want the report processed before the reply", rcv.processed)
	}
}

func TestMXStartTLS(t *testing.T) {
	rcv := &fakeReceiver{}
	addr, tcfg := newMX(t, rcv)
	c := dialRaw(t, addr)
	c.expect("EHLO reporter.test", "250")
	c.expect("STARTTLS", "220")
	tc := tls.Client(c.conn, tcfg)
	if err := tc.Handshake(); err != nil {
		t.Fatalf("TLS handshake with the configured certificate: %v", err)
	}
	c2 := &rawClient{t: t, conn: tc, r: bufio.NewReader(tc)}
	c2.expect("EHLO reporter.test", "250")
	c2.expect("MAIL FROM:<>", "250")
	c2.expect("RCPT TO:<x@rp.example.test>", "250")
	c2.expect("DATA", "354")
	c2.expect(dsnBody+".", "250")
	if envs := rcv.envelopes(); len(envs) != 1 || !envs[0].TLS {
		t.Errorf("received %+v, want one report over TLS", envs)
	}
}

func TestMXRefusesSmugglingAndOversize(t *testing.T) {
	for name, tc := range map[string]struct{ data, want string }{
		"bare LF":  {"Subject: x\r\n\r\nline\n.\r\nMAIL FROM:<evil@remote.test>\r\n", "550 5.6.0"},
		"bare CR":  {"Subject: x\r\n\r\nline\r.\r\n", "550 5.6.0"},
		"oversize": {"Subject: x\r\n\r\n" + strings.Repeat(strings.Repeat("y", 70)+"\r\n", 100), "552"},
	} {
		t.Run(name, func(t *testing.T) {
			rcv := &fakeReceiver{}
			addr, _ := newMX(t, rcv)
			c := dialRaw(t, addr)
			c.expect("EHLO reporter.test", "250")
			c.expect("MAIL FROM:<>", "250")
			c.expect("RCPT TO:<x@rp.example.test>", "250")
			c.expect("DATA", "354")
			c.send(tc.data + ".\r\n")
			if got := c.reply(); !strings.HasPrefix(got, tc.want) {
				t.Errorf("reply %q, want %q", got, tc.want)
			}
			if envs := rcv.envelopes(); len(envs) != 0 {
				t.Errorf("a refused message was stored: %+v", envs)
			}
		})
	}
	t.Run("BDAT bare LF", func(t *testing.T) {
		rcv := &fakeReceiver{}
		addr, _ := newMX(t, rcv)
		c := dialRaw(t, addr)
		c.expect("EHLO reporter.test", "250")
		c.expect("MAIL FROM:<>", "250")
		c.expect("RCPT TO:<x@rp.example.test>", "250")
		body := "Subject: x\r\n\r\nline\nmore\r\n"
		c.send("BDAT " + strconv.Itoa(len(body)) + " LAST\r\n" + body)
		if got := c.reply(); !strings.HasPrefix(got, "550 5.6.0") {
			t.Errorf("BDAT with a bare LF: %q", got)
		}
		if envs := rcv.envelopes(); len(envs) != 0 {
			t.Errorf("stored %+v", envs)
		}
	})
}

func TestMXStoreFailureIsTemporaryAndProcessingFailureIsNot(t *testing.T) {
	send := func(t *testing.T, addr string) string {
		c := dialRaw(t, addr)
		c.expect("EHLO reporter.test", "250")
		c.expect("MAIL FROM:<>", "250")
		c.expect("RCPT TO:<x@rp.example.test>", "250")
		c.expect("DATA", "354")
		c.send(dsnBody + ".\r\n")
		return c.reply()
	}
	rcv := &fakeReceiver{failReceive: true}
	addr, _ := newMX(t, rcv)
	if got := send(t, addr); !strings.HasPrefix(got, "451 4.3.0") {
		t.Errorf("store failure: %q, want 451 4.3.0 (the reporter retries)", got)
	}
	rcv = &fakeReceiver{failProcess: true}
	addr, _ = newMX(t, rcv)
	if got := send(t, addr); !strings.HasPrefix(got, "250") {
		t.Errorf("processing failure after the report was stored: %q, want 250", got)
	}
	rcv = &fakeReceiver{panicProcess: true}
	addr, _ = newMX(t, rcv)
	if got := send(t, addr); !strings.HasPrefix(got, "250") {
		t.Errorf("processing panic after the report was stored: %q, want 250", got)
	}
	if got := send(t, addr); !strings.HasPrefix(got, "250") { // the listener survived
		t.Errorf("next report after a panic: %q", got)
	}
}
