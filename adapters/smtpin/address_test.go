package smtpin_test

import (
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
)

// Bad MAIL FROM / RCPT TO addresses get the reply of their diagnosis (domain/address) and the
// session goes on: the good recipients of the same transaction are delivered.
func TestAddressSyntaxReplies(t *testing.T) {
	env := newEnv(t)
	c := dialRawTLS(t, env.tlsAddr, env.tlsConfig())
	c.login()

	for _, m := range []struct{ line, want string }{
		{"MAIL FROM:<billing..x@example.com>", "501 5.1.7 Bad sender address syntax: address contains consecutive dots (ISEMAIL_ERR_CONSECUTIVEDOTS)"},
		{"MAIL FROM:<billing@example.com(comment)>", "553 5.1.7 Bad sender address syntax: address contains comments (ISEMAIL_CFWS_COMMENT)"},
		{"MAIL FROM:<jörg@example.com>", "553 5.6.7 Non-ASCII addresses require SMTPUTF8"},
	} {
		if got := c.cmd(m.line); got != m.want {
			t.Errorf("%q = %q, want %q", m.line, got, m.want)
		}
	}
	c.expect("MAIL FROM:<billing@example.com>", "250")
	for _, r := range []struct{ line, want string }{
		{"RCPT TO:<.ann@dest.test>", "501 5.1.3 Bad recipient address syntax: the local part or domain begins with a dot (ISEMAIL_ERR_DOT_START)"},
		{"RCPT TO:<ann@dest.test>", "250 "},
		{"RCPT TO:<ann@-dest.test>", "501 5.1.3 Bad recipient address syntax: a domain label begins with a hyphen (ISEMAIL_ERR_DOMAINHYPHENSTART)"},
		{"RCPT TO:<ann@dest.test.>", "501 5.1.3 Bad recipient address syntax: the local part or domain ends with a dot (ISEMAIL_ERR_DOT_END)"},
		{"RCPT TO:<ann\x07@dest.test>", "501 5.1.3"},
		{"RCPT TO:<ann@[255.255.255]>", "553 5.1.3 Bad recipient address syntax: the domain literal is not a valid RFC 5321 address literal (ISEMAIL_RFC5322_DOMAINLITERAL)"},
		{"RCPT TO:<ann@[IPv6:1111:2222:3333:4444:5555:6666::8888]>", "553 5.1.3"},
		{"RCPT TO:<abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghiklmn@dest.test>", "553 5.1.3"},
		{"RCPT TO:<ann@dest_x.test>", "553 5.1.3"},
		{"RCPT TO:<jörg@dest.test>", "553 5.6.7"},
		{`RCPT TO:<"ann lee"@dest.test>`, "250 "},
		{"RCPT TO:<bob@[192.0.2.7]>", "250 "},
		{"RCPT TO:<@relay.test:carl@dest.test>", "250 "}, // source route ignored (RFC 5321 section 4.1.2)
	} {
		if got := c.cmd(r.line); !strings.HasPrefix(got, r.want) {
			t.Errorf("%q = %q, want %q", r.line, got, r.want)
		}
	}
	c.expect("DATA", "354")
	c.send(goodMessage + ".\r\n")
	if got := c.reply(); !strings.HasPrefix(got, "250 2.0.0 Ok: queued as ") {
		t.Fatalf("DATA = %q", got)
	}
	var rcpts []string
	for _, q := range env.queued(t) {
		rcpts = append(rcpts, q.RcptTo)
		if q.MailFrom != "billing@example.com" {
			t.Errorf("mail from %q", q.MailFrom)
		}
	}
	// The quoted local part is stored quoted again: it is what delivery sends in RCPT TO.
	if want := []string{"ann@dest.test", `"ann lee"@dest.test`, "bob@[192.0.2.7]", "carl@dest.test"}; !reflect.DeepEqual(rcpts, want) {
		t.Errorf("recipients %q, want %q", rcpts, want)
	}

	// UTF-8 addresses once SMTPUTF8 is negotiated on MAIL; the null reverse path is a sender.
	c.expect("MAIL FROM:<> SMTPUTF8", "250")
	c.expect("RCPT TO:<jörg@bücher.test>", "250 ")
	c.expect("RSET", "250")
	c.expect("MAIL FROM:<billing@example.com>", "250")
	c.expect("RCPT TO:<jörg@bücher.test>", "553 5.6.7")
}

// Without a credential a bad address is still a syntax error (not a relay refusal).
func TestAddressSyntaxBeforeRelayCheck(t *testing.T) {
	env := newEnv(t)
	c := dialRaw(t, env.plainAddr)
	c.expect("EHLO client.test", "250")
	c.expect("MAIL FROM:<spam@example.com>", "250")
	c.expect("RCPT TO:<victim@@foreign.test>", "501 5.1.3")
	c.expect("RCPT TO:<victim@foreign.test>", "550 5.7.1")
	env.assertNothingAccepted(t)
}

// Python's smtplib against the real listener: a bad RCPT gets 501 5.1.3, the session goes on
// and the message is queued for the good recipient.
func TestPythonSmtplibBadRcpt(t *testing.T) {
	env := newEnv(t)
	script := `
import os, smtplib, ssl
host, port = os.environ["ADDR"].rsplit(":", 1)
s = smtplib.SMTP(host, int(port), timeout=10)
s.ehlo("python.test")
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s.starttls(context=ctx)
s.ehlo("python.test")
s.login(os.environ["USER_"], os.environ["PASS_"])
print(*s.mail("billing@example.com"))
for r in ["ann..lee@dest.test", "test@iana.org\\u0000", "ann@dest.test"]:
    code, resp = s.rcpt(r)
    print(code, resp.decode())
msg = "From: billing@example.com\r\nTo: ann@dest.test\r\nSubject: hi\r\n\r\nbody\r\n"
code, resp = s.data(msg)
print(code, resp.decode())
s.quit()
`
	cmd := exec.Command("python3", "-c", script)
	cmd.Env = append(os.Environ(), "ADDR="+env.plainAddr, "USER_="+testUser, "PASS_="+testPassword)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 5 {
		t.Fatalf("python output:\n%s", out)
	}
	for i, want := range []string{
		"250 ",
		"501 5.1.3 Bad recipient address syntax: address contains consecutive dots (ISEMAIL_ERR_CONSECUTIVEDOTS)",
		"501 5.1.3 Bad recipient address syntax:",
		"250 ",
		"250 2.0.0 Ok: queued as ",
	} {
		if !strings.HasPrefix(lines[i], want) {
			t.Errorf("line %d = %q, want prefix %q", i, lines[i], want)
		}
	}
	if q := env.queued(t); len(q) != 1 || q[0].RcptTo != "ann@dest.test" {
		t.Fatalf("queued %+v", q)
	}
}
