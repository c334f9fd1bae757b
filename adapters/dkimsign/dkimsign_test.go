package dkimsign_test

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posthaste/posthaste/adapters/dkimsign"
)

const (
	verifier = "../../../shared/tools/dkim-verify.py"
	vectors  = "../../../shared/eval/dkim/vectors"
)

// verify runs the independent dkimpy verifier; it returns its output and exit status.
func verify(t *testing.T, msg []byte, keys string) (string, int) {
	t.Helper()
	dir := t.TempDir()
	mf, kf := filepath.Join(dir, "msg.eml"), filepath.Join(dir, "keys.txt")
	if err := os.WriteFile(mf, msg, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kf, []byte(keys), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("/usr/bin/python3", verifier, mf, kf).CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &ee) && ee.ExitCode() <= 2 && !strings.Contains(string(out), "Traceback"):
		return string(out), ee.ExitCode()
	default:
		t.Fatalf("dkim-verify.py could not run (apt-get install -y python3-dkim python3-nacl): %v\n%s", err, out)
		return "", -1
	}
}

func read(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(vectors, p))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSignWithRFC8463KeysVerifiesUnderDkimpy(t *testing.T) {
	rsaKey, err := dkimsign.ParsePrivateKeyPEM(read(t, "rfc8463/rsa-test.pem"))
	if err != nil {
		t.Fatal(err)
	}
	seed, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(read(t, "rfc8463/ed25519-brisbane.seed.b64"))))
	if err != nil {
		t.Fatal(err)
	}
	edKey := ed25519.NewKeyFromSeed(seed)
	s, err := dkimsign.New(
		dkimsign.Key{Domain: "football.example.com", Selector: "test", Signer: rsaKey},
		dkimsign.Key{Domain: "football.example.com", Selector: "brisbane", Signer: edKey},
	)
	if err != nil {
		t.Fatal(err)
	}
	unsigned := read(t, "rfc8463/unsigned.eml")
	signed, descs, err := s.Sign(unsigned)
	if err != nil {
		t.Fatal(err)
	}
	if len(descs) != 2 || descs[0].Algorithm != "rsa-sha256" || descs[1].Algorithm != "ed25519-sha256" || descs[1].Selector != "brisbane" || descs[0].Domain != "football.example.com" {
		t.Fatalf("descriptions %+v", descs)
	}
	if !bytes.HasSuffix(signed, unsigned) {
		t.Fatal("signing changed the message itself")
	}
	keys := string(read(t, "rfc8463/keys.txt"))
	out, code := verify(t, signed, keys)
	if code != 0 || strings.Count(out, "pass ") != 2 {
		t.Fatalf("dkimpy: exit %d\n%s", code, out)
	}
	for _, want := range []string{"c=relaxed/relaxed", "a=ed25519-sha256", "a=rsa-sha256"} {
		if !bytes.Contains(signed, []byte(want)) {
			t.Errorf("signature lacks %s", want)
		}
	}
	// tampering with the body after signing must fail both signatures
	tampered := bytes.Replace(signed, []byte("We lost the game"), []byte("We won the game"), 1)
	if out, code := verify(t, tampered, keys); code != 1 || strings.Contains(out, "pass ") {
		t.Fatalf("tampered message verified: exit %d\n%s", code, out)
	}
	// adding a Reply-To after signing must fail too (it is oversigned although absent)
	withReplyTo := append([]byte("Reply-To: attacker@evil.example\r\n"), signed...)
	if _, code := verify(t, withReplyTo, keys); code != 1 {
		t.Fatal("an added Reply-To did not break the signatures")
	}
}

func TestSignGeneratedRSA2048AndEd25519FromPEM(t *testing.T) {
	rk := testRSAKey(t) // 2048 bits, PKCS#8 in testdata (generating one takes seconds on a loaded machine)
	_, ek, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	// round-trip both through PEM (PKCS#1 and PKCS#8)
	rpem := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)})
	eder, _ := x509.MarshalPKCS8PrivateKey(ek)
	epem := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: eder})
	rs, err := dkimsign.ParsePrivateKeyPEM(rpem)
	if err != nil {
		t.Fatal(err)
	}
	es, err := dkimsign.ParsePrivateKeyPEM(epem)
	if err != nil {
		t.Fatal(err)
	}
	s, err := dkimsign.New(dkimsign.Key{Domain: "example.org", Selector: "ph1", Signer: rs}, dkimsign.Key{Domain: "example.org", Selector: "ph2", Signer: es})
	if err != nil {
		t.Fatal(err)
	}
	// LF-only input is normalised to CRLF before signing.
	msg := "From: A <a@example.org>\nTo: b@example.net\nCc: c@example.net\nSubject: multi\n  line subject\nDate: Mon, 23 Nov 2026 10:00:00 +0000\nMessage-ID: <x@example.org>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nList-Unsubscribe: <https://example.org/u>\nX-Custom: not signed\n\nBody   with  spaces  \n\n\n"
	signed, _, err := s.Sign([]byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(bytes.ReplaceAll(signed, []byte("\r\n"), nil), []byte("\n")) {
		t.Fatal("signed message has bare LF")
	}
	rrec, _ := dkimsign.PublicKeyRecord(rs)
	erec, _ := dkimsign.PublicKeyRecord(es)
	keys := "ph1._domainkey.example.org " + rrec + "\nph2._domainkey.example.org " + erec + "\n"
	if out, code := verify(t, signed, keys); code != 0 || strings.Count(out, "pass ") != 2 {
		t.Fatalf("dkimpy: exit %d\n%s", code, out)
	}
	// X-Custom is not in h=; changing it keeps the signatures valid
	changed := bytes.Replace(signed, []byte("X-Custom: not signed"), []byte("X-Custom: changed"), 1)
	if _, code := verify(t, changed, keys); code != 0 {
		t.Fatal("an unsigned header broke the signature")
	}
	sig := string(signed[:bytes.Index(signed, []byte("\r\nFrom:"))])
	h := strings.ToLower(strings.Join(strings.Fields(sig), ""))
	if !strings.Contains(h, "h=from:from:reply-to:to:to:cc:cc:subject:subject:date:date:message-id:message-id:mime-version:mime-version:content-type:content-type:list-unsubscribe:list-unsubscribe") {
		t.Fatalf("unexpected h= in\n%s", sig)
	}
}

func TestRefusesBadKeysAndMessages(t *testing.T) {
	// Go refuses to generate RSA keys under 1024 bits: fake one by its public half.
	n := new(big.Int).Lsh(big.NewInt(1), 511)
	small := fakeSigner{pub: &rsa.PublicKey{N: n.Add(n, big.NewInt(1)), E: 65537}}
	if _, err := dkimsign.New(); err == nil {
		t.Fatal("no key accepted")
	}
	_, err := dkimsign.New(dkimsign.Key{Domain: "d", Selector: "s", Signer: small}, dkimsign.Key{Signer: nil})
	if err == nil || !strings.Contains(err.Error(), "512 bits") || !strings.Contains(err.Error(), "nil signer") {
		t.Fatalf("bad keys: %v", err)
	}
	if _, err := dkimsign.ParsePrivateKeyPEM([]byte("not pem")); err == nil {
		t.Fatal("garbage key parsed")
	}
	_, ek, _ := ed25519.GenerateKey(rand.Reader)
	s, _ := dkimsign.New(dkimsign.Key{Domain: "d.example", Selector: "s", Signer: ek})
	if _, _, err := s.Sign([]byte("To: x@y\r\n\r\nbody\r\n")); err == nil {
		t.Fatal("message without From signed")
	}
}

type fakeSigner struct{ pub crypto.PublicKey }

func (f fakeSigner) Public() crypto.PublicKey { return f.pub }
func (f fakeSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("fake")
}

func testRSAKey(tb testing.TB) *rsa.PrivateKey {
	tb.Helper()
	b, err := os.ReadFile("testdata/rsa2048.pem")
	if err != nil {
		tb.Fatal(err)
	}
	k, err := dkimsign.ParsePrivateKeyPEM(b)
	if err != nil {
		tb.Fatal(err)
	}
	rk := k.(*rsa.PrivateKey)
	if rk.N.BitLen() != 2048 {
		tb.Fatalf("test key has %d bits", rk.N.BitLen())
	}
	return rk
}

func BenchmarkSignRSA2048(b *testing.B) {
	rk := testRSAKey(b)
	benchSign(b, dkimsign.Key{Domain: "example.org", Selector: "s", Signer: rk})
}

func BenchmarkSignRSA2048AndEd25519(b *testing.B) {
	rk := testRSAKey(b)
	_, ek, _ := ed25519.GenerateKey(rand.Reader)
	benchSign(b, dkimsign.Key{Domain: "example.org", Selector: "s", Signer: rk}, dkimsign.Key{Domain: "example.org", Selector: "e", Signer: ek})
}

func benchSign(b *testing.B, keys ...dkimsign.Key) {
	s, err := dkimsign.New(keys...)
	if err != nil {
		b.Fatal(err)
	}
	msg := []byte("From: a@example.org\r\nTo: b@example.net\r\nSubject: bench\r\n\r\n" + strings.Repeat("0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ\r\n", 30))
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, _, err := s.Sign(msg); err != nil {
			b.Fatal(err)
		}
	}
}
