package smtpin_test

import (
	"bytes"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/smtpin"
)

func TestSelfSignedCertificateStoredAndReused(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	c1, err := smtpin.LoadCertificate("", "", "mail.example.net", dir, now)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(c1.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := leaf.VerifyHostname("mail.example.net"); err != nil {
		t.Fatalf("SAN: %v", err)
	}
	if st, err := os.Stat(filepath.Join(dir, "tls", "selfsigned.key")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}
	c2, err := smtpin.LoadCertificate("", "", "mail.example.net", dir, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c1.Certificate[0], c2.Certificate[0]) {
		t.Fatal("stored certificate not reused")
	}
	// Another hostname, or one close to expiry, gets a fresh certificate.
	c3, err := smtpin.LoadCertificate("", "", "other.example.net", dir, now)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(c1.Certificate[0], c3.Certificate[0]) {
		t.Fatal("certificate for the wrong hostname reused")
	}
	// Cert and key files given: loaded from there; only one of them: an error.
	cp, kp := filepath.Join(dir, "tls", "selfsigned.crt"), filepath.Join(dir, "tls", "selfsigned.key")
	c4, err := smtpin.LoadCertificate(cp, kp, "ignored", "", now)
	if err != nil || !bytes.Equal(c4.Certificate[0], c3.Certificate[0]) {
		t.Fatalf("load from files: %v", err)
	}
	if _, err := smtpin.LoadCertificate(cp, "", "x", "", now); err == nil {
		t.Fatal("cert without key accepted")
	}
}
