package smtpout_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/dkimsign"
	"github.com/posthaste/posthaste/adapters/dnsresolver/dnstest"
	"github.com/posthaste/posthaste/adapters/smtpout"
	"github.com/posthaste/posthaste/adapters/smtpout/smtpsinktest"
	"github.com/posthaste/posthaste/domain/delivery"
)

// dkimpyVerify runs the independent verifier (../shared/tools/dkim-verify.py, dkimpy) on
// what a sink received.
func dkimpyVerify(t *testing.T, msg []byte, keys string) (string, int) {
	t.Helper()
	dir := t.TempDir()
	mf, kf := filepath.Join(dir, "received.eml"), filepath.Join(dir, "keys.txt")
	if err := os.WriteFile(mf, msg, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kf, []byte(keys), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("/usr/bin/python3", "../../../shared/tools/dkim-verify.py", mf, kf).CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &ee) && ee.ExitCode() <= 2 && !strings.Contains(string(out), "Traceback"):
		return string(out), ee.ExitCode()
	}
	t.Fatalf("dkim-verify.py could not run (apt-get install -y python3-dkim python3-nacl): %v\n%s", err, out)
	return "", -1
}

// TestSignedMessageVerifiesAtTheSink signs one body once with RSA-2048 and Ed25519, delivers
// it to two recipients (one through MX behind the local DNS server, one through a smart
// host), and has dkimpy verify the bytes each sink received.
func TestSignedMessageVerifiesAtTheSink(t *testing.T) {
	pemKey, err := os.ReadFile("testdata/rsa2048.pem") // RSA-2048, PKCS#8
	if err != nil {
		t.Fatal(err)
	}
	rk, err := dkimsign.ParsePrivateKeyPEM(pemKey)
	if err != nil {
		t.Fatal(err)
	}
	_, ek, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := dkimsign.New(
		dkimsign.Key{Domain: "example.org", Selector: "rsa1", Signer: rk},
		dkimsign.Key{Domain: "example.org", Selector: "ed1", Signer: ek},
	)
	if err != nil {
		t.Fatal(err)
	}
	body := "From: Sender <sender@example.org>\r\nTo: a@mx.example, b@relay.example\r\nSubject: signed\r\n" +
		"Date: Tue, 24 Nov 2026 02:00:00 +0000\r\nMessage-ID: <dkim-e2e@example.org>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\nHello,\r\n.a line starting with a dot\r\n\r\nbye  \r\n"
	signed, descs, err := signer.Sign([]byte(body)) // once per body, for every recipient
	if err != nil {
		t.Fatal(err)
	}
	if len(descs) != 2 {
		t.Fatalf("descriptions %+v", descs)
	}
	rrec, _ := dkimsign.PublicKeyRecord(rk)
	erec, _ := dkimsign.PublicKeyRecord(ek)
	keys := "rsa1._domainkey.example.org " + rrec + "\ned1._domainkey.example.org " + erec + "\n"

	mxSink := smtpsinktest.New(t, smtpsinktest.Options{TLS: smtpsinktest.StartTLS})
	zone := dnstest.New(t, "mx.example. 300 IN MX 10 in.mx.example.", "in.mx.example. 300 IN A 127.0.0.1")
	mx := mxClient(t, zone, mxSink, nil)
	if res := mx.Deliver(context.Background(), smtpout.Message{ID: "msg-a", RcptTo: "a@mx.example", Data: signed}); res.Outcome() != delivery.Delivered {
		t.Fatalf("mx delivery %+v\n%s", res, res.Transcript)
	}

	relaySink := smtpsinktest.New(t, smtpsinktest.Options{TLS: smtpsinktest.Implicit})
	relays, _ := smtpout.ParseRelays("smtps://" + relaySink.Addr)
	rc, err := smtpout.New(smtpout.Config{Hostname: "out.test", Relays: relays, ReturnPathDomain: rpDomain,
		RelayTLSConfig: &tls.Config{RootCAs: relaySink.CertPool()}, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if res := rc.Deliver(context.Background(), smtpout.Message{ID: "msg-b", RcptTo: "b@relay.example", Data: signed}); res.Outcome() != delivery.Delivered {
		t.Fatalf("relay delivery %+v\n%s", res, res.Transcript)
	}

	for name, sink := range map[string]*smtpsinktest.Sink{"mx": mxSink, "relay": relaySink} {
		msgs := sink.WaitMessages(1, time.Second)
		if len(msgs) != 1 {
			t.Fatalf("%s sink got %d messages", name, len(msgs))
		}
		out, code := dkimpyVerify(t, msgs[0].Data, keys)
		if code != 0 || !strings.Contains(out, "pass d=example.org s=rsa1 a=rsa-sha256") || !strings.Contains(out, "pass d=example.org s=ed1 a=ed25519-sha256") {
			t.Fatalf("%s: dkimpy exit %d:\n%s", name, code, out)
		}
	}
	// the verifier is not a rubber stamp: a key that does not match fails
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	wrong, _ := dkimsign.PublicKeyRecord(other)
	if _, code := dkimpyVerify(t, mxSink.Messages()[0].Data, "rsa1._domainkey.example.org "+rrec+"\ned1._domainkey.example.org "+wrong+"\n"); code != 1 {
		t.Fatalf("a wrong Ed25519 key verified (exit %d)", code)
	}
}
