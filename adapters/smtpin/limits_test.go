package smtpin_test

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/smtpin"
)

// Connections beyond the per-IP limit get 421 before any TLS or session work.
func TestConnectionLimitPerIP(t *testing.T) {
	env := newEnv(t, func(c *smtpin.Config, _ *fakeAuth) { c.MaxConnsPerIP = 2 })
	a := dialRaw(t, env.plainAddr)
	dialRaw(t, env.plainAddr)
	c := dialRawNoGreeting(t, env.plainAddr)
	if got := c.reply(); !strings.HasPrefix(got, "421 4.7.0") {
		t.Fatalf("third connection: %q", got)
	}
	// Closing one frees a slot.
	a.expect("QUIT", "221")
	a.conn.Close()
	for i := 0; ; i++ {
		c := dialRawNoGreeting(t, env.plainAddr)
		got := c.reply()
		if strings.HasPrefix(got, "220") {
			break
		}
		if i > 100 {
			t.Fatalf("slot never freed: %q", got)
		}
		c.conn.Close()
	}
}

func dialRawNoGreeting(t *testing.T, addr string) *rawClient {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { c.Close() })
	return &rawClient{t: t, conn: c, r: bufio.NewReader(c)}
}

// Recipients per message are capped (452 4.5.3), the rest of the transaction still works.
func TestMaxRecipients(t *testing.T) {
	env := newEnv(t, func(c *smtpin.Config, _ *fakeAuth) { c.MaxRecipients = 2 })
	c := dialRawTLS(t, env.tlsAddr, env.tlsConfig())
	c.login()
	c.expect("MAIL FROM:<billing@example.com>", "250")
	c.expect("RCPT TO:<a@dest.test>", "250")
	c.expect("RCPT TO:<b@dest.test>", "250")
	c.expect("RCPT TO:<c@dest.test>", "452 4.5.3")
	c.expect("DATA", "354")
	c.send(goodMessage + ".\r\n")
	if got := c.reply(); !queuedAs.MatchString(got) {
		t.Fatalf("DATA %q", got)
	}
	if q := env.queued(t); len(q) != 2 {
		t.Fatalf("%d queued, want 2", len(q))
	}
}

// A whole pipelined transaction in one write (PIPELINING), with SMTPUTF8 addresses and an
// 8-bit body, gets its replies in order.
func TestPipeliningSMTPUTF8(t *testing.T) {
	env := newEnv(t)
	c := dialRawTLS(t, env.tlsAddr, env.tlsConfig())
	c.login()
	msg := "From: Zoë <zoë@example.com>\r\nTo: josé@dést.test\r\nSubject: héllo\r\n\r\nçà et là\r\n"
	c.send("MAIL FROM:<zoë@example.com> SMTPUTF8 BODY=8BITMIME\r\nRCPT TO:<josé@dést.test>\r\nDATA\r\n")
	for _, want := range []string{"250", "250", "354"} {
		if got := c.reply(); !strings.HasPrefix(got, want) {
			t.Fatalf("pipelined reply %q, want %s", got, want)
		}
	}
	c.send(msg + ".\r\nQUIT\r\n")
	if got := c.reply(); !queuedAs.MatchString(got) {
		t.Fatalf("DATA %q", got)
	}
	if got := c.reply(); !strings.HasPrefix(got, "221") {
		t.Fatalf("QUIT %q", got)
	}
	q := env.queued(t)
	if len(q) != 1 || q[0].MailFrom != "zoë@example.com" || q[0].RcptTo != "josé@dést.test" || q[0].Subject != "héllo" || q[0].HeaderFrom != "zoë@example.com" {
		t.Fatalf("queued %+v", q)
	}
}

// Shutdown right after Start returns, even before the serving goroutines ran.
func TestShutdownRightAfterStart(t *testing.T) {
	for i := 0; i < 20; i++ {
		env := newEnv(t)
		done := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			done <- env.srv.Shutdown(ctx)
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("shutdown: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("shutdown hangs")
		}
	}
}
