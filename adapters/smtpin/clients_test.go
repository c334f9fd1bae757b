package smtpin_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

var queuedAs = regexp.MustCompile(`^250 2\.0\.0 Ok: queued as ([0-9a-f-]{36})$`)

// A Go client submits over STARTTLS + AUTH PLAIN to two recipients: one submission, two
// message.queued, Message-ID added, tag and headers extracted, TLS and client IP recorded.
func TestGoClientSTARTTLSAuthPlain(t *testing.T) {
	env := newEnv(t)
	// Before TLS, read the EHLO reply as it is on the wire.
	raw := dialRaw(t, env.plainAddr)
	ehlo := raw.cmd("EHLO client.test")
	for _, ext := range []string{"STARTTLS", "PIPELINING", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "CHUNKING", "SIZE 65536"} {
		if !strings.Contains(ehlo, "250-"+ext+"\n") && !strings.HasSuffix(ehlo, "250 "+ext) {
			t.Errorf("EHLO does not advertise %s:\n%s", ext, ehlo)
		}
	}
	if strings.Contains(ehlo, "AUTH") {
		t.Errorf("AUTH advertised before STARTTLS:\n%s", ehlo)
	}
	raw.cmd("QUIT")

	c, err := smtp.DialStartTLS(env.plainAddr, env.tlsConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	if ok, mechs := c.Extension("AUTH"); !ok || mechs != "PLAIN LOGIN" {
		t.Errorf("AUTH after STARTTLS = %v %q, want PLAIN LOGIN", ok, mechs)
	}
	if err := c.Auth(sasl.NewPlainClient("", testUser, testPassword)); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("bounce@example.com", nil); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"ann@dest.test", "bob@other.test", "ann@DEST.test"} {
		if err := c.Rcpt(r, nil); err != nil {
			t.Fatal(err)
		}
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(goodMessage + ".dot line\r\n"))
	resp, err := w.CloseWithResponse()
	if err != nil {
		t.Fatal(err)
	}
	m := queuedAs.FindStringSubmatch(fmt.Sprintf("250 %s", resp.StatusText))
	if m == nil {
		t.Fatalf("reply %q does not carry a submission id", resp.StatusText)
	}
	c.Quit()

	subs := env.acc.all()
	if len(subs) != 1 || subs[0].SubmissionID != m[1] || subs[0].BodyID != m[1] {
		t.Fatalf("acceptances %+v, want one for submission %s", subs, m[1])
	}
	body := string(subs[0].Body)
	wantID := "<" + m[1] + "@" + testHost + ">"
	trace := "Received: from client.test ([127.0.0.1])\r\n\tby " + testHost + " (Posthaste) with ESMTPSA id " + m[1] + ";\r\n\t"
	if !strings.HasPrefix(body, trace) || !strings.Contains(body, "\r\nMessage-ID: "+wantID+"\r\n"+goodMessage) || !strings.HasSuffix(body, "\r\n.dot line\r\n") {
		t.Fatalf("stored body:\n%q", body)
	}
	q := env.queued(t)
	if len(q) != 2 {
		t.Fatalf("%d message.queued, want 2 (duplicate recipient folded)", len(q))
	}
	for i, want := range []string{"ann@dest.test", "bob@other.test"} {
		got := q[i]
		if got.RcptTo != want || got.MailFrom != "bounce@example.com" || got.HeaderFrom != "billing@example.com" ||
			got.Subject != "Invoice 42" || got.Tag != "invoices" || got.MessageID != wantID || !got.TLS ||
			got.ClientIP != "127.0.0.1" || got.CredentialID != testCredID || got.Size != int64(len(body)) || got.Source != "smtp" {
			t.Errorf("queued[%d] = %+v", i, got)
		}
	}
	if e := subs[0].Events[0]; e.Server() != testServerID || e.CorrelationID != m[1] || e.Actor.Type != "smtp" {
		t.Errorf("envelope %+v", e)
	}
}

// Implicit TLS (SMTPS) with AUTH LOGIN.
func TestImplicitTLSAuthLogin(t *testing.T) {
	env := newEnv(t)
	conn, err := tls.Dial("tcp", env.tlsAddr, env.tlsConfig())
	if err != nil {
		t.Fatal(err)
	}
	c := smtp.NewClient(conn)
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		t.Error("STARTTLS advertised on implicit TLS")
	}
	if err := c.Auth(sasl.NewLoginClient(testUser, testPassword)); err != nil {
		t.Fatal(err)
	}
	if err := c.SendMail("bounce@example.com", []string{"ann@dest.test"}, strings.NewReader(goodMessage)); err != nil {
		t.Fatal(err)
	}
	if q := env.queued(t); len(q) != 1 || !q[0].TLS {
		t.Fatalf("queued %+v", q)
	}
}

// Python's smtplib: STARTTLS, login (PLAIN), data; prints the final reply.
func TestPythonSmtplibSTARTTLS(t *testing.T) {
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
msg = "From: billing@example.com\r\nTo: ann@dest.test\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\nMessage-ID: <py-1@example.com>\r\n\r\nbody\r\n"
s.mail("billing@example.com")
s.rcpt("ann@dest.test")
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
	if !regexp.MustCompile(`^250 2\.0\.0 Ok: queued as [0-9a-f-]{36}\n$`).Match(out) {
		t.Fatalf("python output %q", out)
	}
	q := env.queued(t)
	if len(q) != 1 || q[0].Subject != "Grüße" || q[0].MessageID != "<py-1@example.com>" || !q[0].TLS {
		t.Fatalf("queued %+v", q)
	}
}

// swaks over STARTTLS with AUTH PLAIN and AUTH LOGIN (swaks is a CI dependency).
func TestSwaksSTARTTLS(t *testing.T) {
	if _, err := exec.LookPath("swaks"); err != nil {
		t.Fatal("swaks not installed (apt-get install -y swaks): it is a required test tool")
	}
	env := newEnv(t)
	for _, mech := range []string{"PLAIN", "LOGIN"} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		out, err := exec.CommandContext(ctx, "swaks", "--server", env.plainAddr, "--tls", "--auth", mech,
			"--auth-user", testUser, "--auth-password", testPassword,
			"--from", "billing@example.com", "--to", "ann@dest.test",
			"--header", "Subject: swaks "+mech, "--header", "X-Posthaste-Tag: swaks",
			"--body", "hello from swaks").CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("swaks %s: %v\n%s", mech, err, out)
		}
		if !regexp.MustCompile(`<~  250 2\.0\.0 Ok: queued as [0-9a-f-]{36}`).Match(out) {
			t.Fatalf("swaks %s output lacks the queued reply:\n%s", mech, out)
		}
	}
	q := env.queued(t)
	if len(q) != 2 || q[0].Tag != "swaks" || q[1].Subject != "swaks LOGIN" {
		t.Fatalf("queued %+v", q)
	}
}

// The transcript records the conversation with the AUTH secrets redacted.
func TestTranscriptRedactsAuth(t *testing.T) {
	env := newEnv(t)
	c := dialRawTLS(t, env.tlsAddr, env.tlsConfig())
	c.login()
	c.expect("QUIT", "221")
	c.conn.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		env.mu.Lock()
		n := len(env.transcripts)
		env.mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	env.mu.Lock()
	defer env.mu.Unlock()
	if len(env.transcripts) != 1 {
		t.Fatalf("%d transcripts, want 1", len(env.transcripts))
	}
	tr := env.transcripts[0]
	if strings.Contains(tr, testPassword) || strings.Contains(tr, plainIR(testUser, testPassword)) {
		t.Fatalf("transcript leaks the password:\n%s", tr)
	}
	if !strings.Contains(tr, "C: AUTH PLAIN") || !strings.Contains(tr, "S: 235") {
		t.Fatalf("transcript lacks the AUTH exchange:\n%s", tr)
	}
}
