package smtpin

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// SelfSignedCertificate generates an ECDSA P-256 certificate for hostname (SAN; an IP
// literal becomes an IP SAN), valid from an hour before now for one year. random is
// crypto/rand when nil. It also returns the PEM encodings of the certificate and key.
func SelfSignedCertificate(hostname string, now time.Time, random io.Reader) (tls.Certificate, []byte, []byte, error) {
	if hostname == "" {
		return tls.Certificate{}, nil, nil, errors.New("smtpin: self-signed certificate: hostname is empty")
	}
	if random == nil {
		random = rand.Reader
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), random)
	if err != nil {
		return tls.Certificate{}, nil, nil, fmt.Errorf("smtpin: self-signed certificate: key: %w", err)
	}
	serial, err := rand.Int(random, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, nil, nil, fmt.Errorf("smtpin: self-signed certificate: serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: hostname, Organization: []string{"Posthaste self-signed"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	if ip := net.ParseIP(hostname); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{hostname}
	}
	der, err := x509.CreateCertificate(random, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, nil, fmt.Errorf("smtpin: self-signed certificate: sign: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return tls.Certificate{}, nil, nil, fmt.Errorf("smtpin: self-signed certificate: encode key: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, nil, nil, fmt.Errorf("smtpin: self-signed certificate: load: %w", err)
	}
	return cert, certPEM, keyPEM, nil
}

// LoadCertificate returns the certificate for the SMTP listeners: from certFile and keyFile
// when both are set (POSTHASTE_TLS_CERT / _KEY); otherwise a self-signed one for hostname,
// kept in dataDir/tls (reused while it is valid for hostname for at least 30 more days) or,
// when dataDir is "", generated in memory.
func LoadCertificate(certFile, keyFile, hostname, dataDir string, now time.Time) (tls.Certificate, error) {
	switch {
	case certFile != "" && keyFile != "":
		c, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("smtpin: load certificate %s: %w", certFile, err)
		}
		return c, nil
	case certFile != "" || keyFile != "":
		return tls.Certificate{}, errors.New("smtpin: load certificate: set both the certificate and the key file, or neither")
	}
	if dataDir == "" {
		c, _, _, err := SelfSignedCertificate(hostname, now, nil)
		return c, err
	}
	dir := filepath.Join(dataDir, "tls")
	cp, kp := filepath.Join(dir, "selfsigned.crt"), filepath.Join(dir, "selfsigned.key")
	if c, err := tls.LoadX509KeyPair(cp, kp); err == nil {
		if leaf, err := x509.ParseCertificate(c.Certificate[0]); err == nil &&
			leaf.VerifyHostname(hostname) == nil && now.Add(30*24*time.Hour).Before(leaf.NotAfter) {
			return c, nil
		}
	}
	c, certPEM, keyPEM, err := SelfSignedCertificate(hostname, now, nil)
	if err != nil {
		return tls.Certificate{}, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return tls.Certificate{}, fmt.Errorf("smtpin: store self-signed certificate: %w", err)
	}
	if err := writeFileAtomic(kp, keyPEM, 0o600); err != nil {
		return tls.Certificate{}, err
	}
	if err := writeFileAtomic(cp, certPEM, 0o644); err != nil {
		return tls.Certificate{}, err
	}
	return c, nil
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return fmt.Errorf("smtpin: write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("smtpin: write %s: %w", path, err)
	}
	return nil
}
