package smtpin_test

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/posthaste/posthaste/adapters/smtpin"
)

const (
	bareLF = "550 5.6.0 Bare LF not allowed: lines must end with CRLF"
	bareCR = "550 5.6.0 Bare CR not allowed: lines must end with CRLF"
	noop   = "250 2.0.0 I have successfully done nothing"
	head   = "From: billing@example.com\r\nTo: ann@dest.test\r\nSubject: probe\r\n\r\n"
	// What an attacker hides behind a fake end of data.
	smuggled = "MAIL FROM:<billing@example.com>\r\nRCPT TO:<victim@dest.test>\r\nDATA\r\nFrom: billing@example.com\r\n\r\nsmuggled\r\n"
)

// smugglingCases: DATA payloads (before the final CRLF.CRLF) and the reply they must get.
var smugglingCases = []struct{ name, payload, want string }{
	{"bare LF mid-body", head + "line one\nline two\r\n", bareLF},
	{"bare LF in header", "From: billing@example.com\nSubject: x\r\n\r\nbody\r\n", bareLF},
	{"bare CR mid-body", head + "line one\rline two\r\n", bareCR},
	{"LF.CRLF fake end", head + "hello\n.\r\n" + smuggled, bareLF},
	{"CRLF.LF fake end", head + "hello\r\n.\n" + smuggled, bareLF},
	{"CR.CRLF fake end", head + "hello\r.\r\n" + smuggled, bareCR},
	{"LF.LF fake end", head + "hello\n.\n" + smuggled, bareLF},
}

// crlfDotCR is "<CRLF>.<CR><non-LF>": go-smtp's DATA reader drops that CR while unstuffing, so
// it never reaches us (nor the stored body). Over BDAT the raw bytes are refused.
const crlfDotCR = head + "hello\r\n.\r" + "\r\n" + smuggled

// dialers: exact bytes over plain TCP (SMTP-IP credential) and over implicit TLS (AUTH).
func smugglingClients(t *testing.T) (*testEnv, map[string]func() *rawClient) {
	env := newEnv(t, func(_ *smtpin.Config, a *fakeAuth) { a.ipNet = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")} })
	return env, map[string]func() *rawClient{
		"tcp": func() *rawClient {
			c := dialRaw(t, env.plainAddr)
			c.expect("EHLO client.test", "250")
			return c
		},
		"tls": func() *rawClient {
			c := dialRawTLS(t, env.tlsAddr, env.tlsConfig())
			c.login()
			return c
		},
	}
}

// DATA: bare LF / bare CR anywhere, and every fake end-of-data, are refused with exactly one
// reply; the commands hidden behind a fake end are never executed; nothing is queued.
func TestProbeSmugglingDATA(t *testing.T) {
	env, dialers := smugglingClients(t)
	for transport, dial := range dialers {
		for _, tc := range smugglingCases {
			c := dial()
			c.expect("MAIL FROM:<billing@example.com>", "250")
			c.expect("RCPT TO:<ann@dest.test>", "250")
			c.expect("DATA", "354")
			// The whole payload, the real end and a NOOP in one write, as a pipelining attacker would.
			c.send(tc.payload + ".\r\nNOOP\r\n")
			if got := c.reply(); got != tc.want {
				t.Errorf("%s/%s: reply %q, want %q", transport, tc.name, got, tc.want)
			}
			// If the smuggled MAIL/RCPT/DATA had run we would read their 250s/354 here.
			if got := c.reply(); got != noop {
				t.Errorf("%s/%s: next reply %q, want the NOOP's: hidden commands were executed", transport, tc.name, got)
			}
			c.conn.Close()
		}
	}
	env.assertNothingAccepted(t)

	// <CRLF>.<CR><non-LF> cannot be produced through a conforming relay (it would be stuffed to
	// "..") and go-smtp drops its CR: the message is accepted with a CRLF-clean body in which the
	// hidden commands are text, and no command behind it runs.
	c := dialers["tls"]()
	c.expect("MAIL FROM:<billing@example.com>", "250")
	c.expect("RCPT TO:<ann@dest.test>", "250")
	c.expect("DATA", "354")
	c.send(crlfDotCR + ".\r\nNOOP\r\n")
	if got := c.reply(); !queuedAs.MatchString(got) {
		t.Fatalf("CRLF.CR: %q", got)
	}
	if got := c.reply(); got != noop {
		t.Fatalf("CRLF.CR: next reply %q, want the NOOP's", got)
	}
	subs := env.acc.all()
	if len(subs) != 1 {
		t.Fatalf("%d accepted", len(subs))
	}
	body := string(subs[0].Body)
	if strings.Count(body, "\r") != strings.Count(body, "\r\n") || strings.Count(body, "\n") != strings.Count(body, "\r\n") {
		t.Fatalf("stored body is not CRLF-clean: %q", body)
	}
	if !strings.Contains(body, "hello\r\n\r\nMAIL FROM:") {
		t.Fatalf("stored body %q", body)
	}
}

// BDAT: the same content in chunks is refused too; a CRLF split across two chunks is fine.
func TestProbeSmugglingBDAT(t *testing.T) {
	env, dialers := smugglingClients(t)
	cases := append(smugglingCases, struct{ name, payload, want string }{"CRLF.CR fake end", crlfDotCR, bareCR})
	for transport, dial := range dialers {
		for _, tc := range cases {
			c := dial()
			c.expect("MAIL FROM:<billing@example.com>", "250")
			c.expect("RCPT TO:<ann@dest.test>", "250")
			c.send("BDAT " + strconv.Itoa(len(tc.payload)) + " LAST\r\n" + tc.payload + "NOOP\r\n")
			if got := c.reply(); got != tc.want {
				t.Errorf("%s/%s: reply %q, want %q", transport, tc.name, got, tc.want)
			}
			if got := c.reply(); got != noop {
				t.Errorf("%s/%s: next reply %q, want the NOOP's", transport, tc.name, got)
			}
			c.conn.Close()
		}
		// Bare CR at the very end of the last chunk.
		c := dial()
		c.expect("MAIL FROM:<billing@example.com>", "250")
		c.expect("RCPT TO:<ann@dest.test>", "250")
		msg := head + "tail\r"
		c.send("BDAT " + strconv.Itoa(len(msg)) + " LAST\r\n" + msg)
		if got := c.reply(); got != bareCR {
			t.Errorf("%s: trailing CR: %q", transport, got)
		}
		// Bare LF in a middle chunk: refused at that chunk or at LAST, never accepted.
		c.expect("MAIL FROM:<billing@example.com>", "250")
		c.expect("RCPT TO:<ann@dest.test>", "250")
		first := head + "a\nb"
		c.send("BDAT " + strconv.Itoa(len(first)) + "\r\n" + first)
		got := c.reply()
		if strings.HasPrefix(got, "250") {
			got = c.cmd("BDAT 2 LAST\r\n\r\n")
		}
		if got != bareLF && !strings.HasPrefix(got, "502") {
			t.Errorf("%s: bare LF in a middle chunk: %q", transport, got)
		}
		c.conn.Close()
	}
	env.assertNothingAccepted(t)

	// A CRLF split across chunk boundaries is legitimate.
	c := dialers["tls"]()
	c.expect("MAIL FROM:<billing@example.com>", "250")
	c.expect("RCPT TO:<ann@dest.test>", "250")
	part1 := head + "line one\r"
	part2 := "\nline two\r\n"
	c.send("BDAT " + strconv.Itoa(len(part1)) + "\r\n" + part1)
	if got := c.reply(); got != "250 2.0.0 Continue" {
		t.Fatalf("first chunk: %q", got)
	}
	c.send("BDAT " + strconv.Itoa(len(part2)) + " LAST\r\n" + part2)
	if got := c.reply(); !queuedAs.MatchString(got) {
		t.Fatalf("split CRLF: %q", got)
	}
	subs := env.acc.all()
	if len(subs) != 1 || !strings.HasSuffix(string(subs[0].Body), part1+part2) {
		t.Fatalf("stored %+v", subs)
	}
}
