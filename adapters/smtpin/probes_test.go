package smtpin_test

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/posthaste/posthaste/adapters/smtpin"
)

// Unauthenticated mail for a foreign domain is refused at RCPT: never an open relay.
func TestProbeOpenRelay(t *testing.T) {
	env := newEnv(t)
	for name, c := range map[string]*rawClient{
		"plain": dialRaw(t, env.plainAddr),
		"tls":   dialRawTLS(t, env.tlsAddr, env.tlsConfig()),
	} {
		c.expect("EHLO relay.test", "250")
		c.expect("MAIL FROM:<spam@example.com>", "250")
		if got := c.cmd("RCPT TO:<victim@foreign.test>"); got != "550 5.7.1 Relaying denied: authentication required" {
			t.Errorf("%s: RCPT = %q", name, got)
		}
		if got := c.cmd("DATA"); !strings.HasPrefix(got, "502 5.5.1") {
			t.Errorf("%s: DATA without recipients = %q", name, got)
		}
	}
	env.assertNothingAccepted(t)
}

// AUTH in clear text is refused (and not advertised) unless TLS is up.
func TestProbeAuthBeforeSTARTTLS(t *testing.T) {
	env := newEnv(t)
	c := dialRaw(t, env.plainAddr)
	c.expect("EHLO client.test", "250")
	for _, line := range []string{"AUTH PLAIN " + plainIR(testUser, testPassword), "AUTH LOGIN"} {
		if got := c.cmd(line); got != "530 5.7.0 Must issue a STARTTLS command first" {
			t.Errorf("%q = %q", strings.Fields(line)[:2], got)
		}
	}
	c.expect("MAIL FROM:<billing@example.com>", "250")
	c.expect("RCPT TO:<ann@dest.test>", "550 5.7.1")
	env.assertNothingAccepted(t)
}

// The insecure-auth switch lets loopback clients AUTH in clear, nobody else.
func TestInsecureAuthLoopbackOnly(t *testing.T) {
	env := newEnv(t, func(c *smtpin.Config, _ *fakeAuth) { c.AllowInsecureAuth = true })
	c := dialRaw(t, env.plainAddr)
	if ehlo := c.cmd("EHLO client.test"); !strings.Contains(ehlo, "AUTH PLAIN LOGIN") {
		t.Fatalf("loopback EHLO lacks AUTH:\n%s", ehlo)
	}
	c.expect("AUTH PLAIN "+plainIR(testUser, testPassword), "235")

	// A non-loopback address of this machine, if it has one, is a remote client.
	ip := nonLoopbackIP(t)
	if !ip.IsValid() {
		t.Log("no non-loopback IPv4 address on this machine: remote half not exercised")
		return
	}
	env2 := newEnv(t, func(c *smtpin.Config, _ *fakeAuth) {
		c.AllowInsecureAuth = true
		c.Listen = []string{netip.AddrPortFrom(ip, 0).String()}
		c.ListenTLS = nil
	})
	r := dialRaw(t, env2.plainAddr)
	if ehlo := r.cmd("EHLO client.test"); strings.Contains(ehlo, "AUTH") {
		t.Fatalf("non-loopback EHLO advertises AUTH in clear:\n%s", ehlo)
	}
	r.expect("AUTH PLAIN "+plainIR(testUser, testPassword), "530 5.7.0 Must issue a STARTTLS command first")
}

func nonLoopbackIP(t *testing.T) netip.Addr {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Is4() && !p.Addr().IsLoopback() {
			return p.Addr()
		}
	}
	return netip.Addr{}
}

// A wrong password gets 535 5.7.8; after 3 failures from the IP even the right one is refused
// with 454 4.7.0 (the limiter is per client IP, across connections).
func TestProbeBadAuthRateLimited(t *testing.T) {
	env := newEnv(t)
	// Failure 1 (PLAIN) and 2 (LOGIN) on one connection, failure 3 on another.
	c1 := dialRawTLS(t, env.tlsAddr, env.tlsConfig())
	c1.expect("EHLO client.test", "250")
	if got := c1.cmd("AUTH PLAIN " + plainIR(testUser, "wrong")); got != "535 5.7.8 Authentication credentials invalid" {
		t.Fatalf("PLAIN: %q", got)
	}
	c1.expect("AUTH LOGIN", "334 VXNlcm5hbWU6")
	c1.expect("YmlsbGluZy1zbXRw", "334 UGFzc3dvcmQ6")
	if got := c1.cmd("d3Jvbmc="); got != "535 5.7.8 Authentication credentials invalid" {
		t.Fatalf("LOGIN: %q", got)
	}
	c1.expect("MAIL FROM:<billing@example.com>", "250")
	c1.expect("RCPT TO:<ann@dest.test>", "550 5.7.1")
	c2 := dialRawTLS(t, env.tlsAddr, env.tlsConfig())
	c2.expect("EHLO client.test", "250")
	c2.expect("AUTH PLAIN "+plainIR("nobody", "x"), "535 5.7.8")

	c := dialRawTLS(t, env.tlsAddr, env.tlsConfig())
	c.expect("EHLO client.test", "250")
	if got := c.cmd("AUTH PLAIN " + plainIR(testUser, testPassword)); got != "454 4.7.0 Too many failed authentication attempts, try again later" {
		t.Fatalf("after 3 failures: %q", got)
	}
	env.assertNothingAccepted(t)
}

// An SMTP-IP credential authenticates by client address, without AUTH.
func TestSMTPIPCredential(t *testing.T) {
	env := newEnv(t, func(_ *smtpin.Config, a *fakeAuth) { a.ipNet = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} })
	c := dialRaw(t, env.plainAddr)
	c.expect("EHLO client.test", "250")
	c.expect("MAIL FROM:<billing@example.com>", "250")
	c.expect("RCPT TO:<ann@dest.test>", "250")
	c.expect("DATA", "354")
	c.send(goodMessage + ".\r\n")
	if got := c.reply(); !queuedAs.MatchString(got) {
		t.Fatalf("DATA = %q", got)
	}
	q := env.queued(t)
	if len(q) != 1 || q[0].CredentialID != "cred-ip" || q[0].TLS {
		t.Fatalf("queued %+v", q)
	}
	if body := string(env.acc.all()[0].Body); !strings.Contains(body, ") with ESMTP id ") {
		t.Fatalf("trace header should say ESMTP (no TLS, no AUTH):\n%s", body)
	}
}

// A From domain that is not verified for the credential's server is refused.
func TestProbeSpoofedFrom(t *testing.T) {
	env := newEnv(t)
	c := dialRawTLS(t, env.tlsAddr, env.tlsConfig())
	c.login()
	for _, tc := range []struct{ msg, want string }{
		{"From: CEO <ceo@example.org>\r\nSubject: x\r\n\r\nbody\r\n", "550 5.7.1 From domain example.org is not a verified domain of this server"},
		{"From: a@example.com\r\nFrom: ceo@example.org\r\n\r\nbody\r\n", "550 5.7.1 Message has more than one From header"},
		{"From: a@example.com, ceo@example.org\r\nSender: a@example.com\r\n\r\nbody\r\n", "550 5.7.1 From domain example.org is not a verified domain of this server"},
		{"Subject: no from\r\n\r\nbody\r\n", "550 5.6.0 Message has no From header"},
	} {
		c.expect("MAIL FROM:<billing@example.com>", "250")
		c.expect("RCPT TO:<ann@dest.test>", "250")
		c.expect("DATA", "354")
		c.send(tc.msg + ".\r\n")
		if got := c.reply(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
	env.assertNothingAccepted(t)
}

// Oversize: by the SIZE parameter, while reading DATA, and by BDAT chunk sizes.
func TestProbeOversize(t *testing.T) {
	env := newEnv(t) // 64 KiB limit
	c := dialRawTLS(t, env.tlsAddr, env.tlsConfig())
	c.login()
	c.expect("MAIL FROM:<billing@example.com> SIZE=70000", "552 5.3.4")

	big := goodMessage + strings.Repeat(strings.Repeat("x", 998)+"\r\n", 90)
	c.expect("MAIL FROM:<billing@example.com>", "250")
	c.expect("RCPT TO:<ann@dest.test>", "250")
	c.expect("DATA", "354")
	c.send(big + ".\r\n")
	if got := c.reply(); !strings.HasPrefix(got, "552 5.3.4") {
		t.Fatalf("oversize DATA = %q", got)
	}

	c.expect("MAIL FROM:<billing@example.com>", "250")
	c.expect("RCPT TO:<ann@dest.test>", "250")
	c.send("BDAT 40000\r\n" + big[:40000])
	if got := c.reply(); !strings.HasPrefix(got, "250") {
		t.Fatalf("first BDAT chunk = %q", got)
	}
	c.send("BDAT 40000 LAST\r\n" + big[40000:80000])
	if got := c.reply(); !strings.HasPrefix(got, "552 5.3.4") {
		t.Fatalf("oversize BDAT = %q", got)
	}
	// An aborted BDAT transfer ends the connection (see session.Reset); a new one works.
	if _, err := c.r.ReadByte(); !isClosed(err) {
		t.Fatalf("connection still open after an aborted BDAT: %v", err)
	}
	c = dialRawTLS(t, env.tlsAddr, env.tlsConfig())
	c.login()
	c.expect("MAIL FROM:<billing@example.com>", "250")
	c.expect("RCPT TO:<ann@dest.test>", "250")
	c.send("BDAT " + itoa(len(goodMessage)) + " LAST\r\n" + goodMessage)
	if got := c.reply(); !queuedAs.MatchString(got) {
		t.Fatalf("good BDAT after oversize = %q", got)
	}
	if n := len(env.acc.all()); n != 1 {
		t.Fatalf("%d accepted, want only the good one", n)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// A line beyond go-smtp's limit refuses the message and ends the connection (the rest of the
// data cannot be trusted to be in step).
func TestProbeLongLine(t *testing.T) {
	env := newEnv(t)
	c := dialRawTLS(t, env.tlsAddr, env.tlsConfig())
	c.login()
	c.expect("MAIL FROM:<billing@example.com>", "250")
	c.expect("RCPT TO:<ann@dest.test>", "250")
	c.expect("DATA", "354")
	c.send(head + strings.Repeat("y", 3000) + "\r\n.\r\n")
	if got := c.reply(); got != "500 5.5.2 Line too long" {
		t.Fatalf("long line: %q", got)
	}
	env.assertNothingAccepted(t)
}
