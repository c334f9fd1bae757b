// Package dkimsign signs outgoing messages with DKIM (RFC 6376, RFC 8463) using
// emersion/go-msgauth: relaxed/relaxed canonicalization, SHA-256, an RSA key (2048 bits is
// the design default) and optionally an Ed25519 key as a second signature.
//
// It owns the choice of signed header fields and the key parsing. A message is signed once per
// body, not once per recipient: the caller signs the shared body and delivers the returned
// bytes to every recipient. It must not store keys, log them, or put them in events: it only
// returns the signature descriptions that go into message.signed.
package dkimsign

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/posthaste/posthaste/events"
)

// Key is one signing identity: the d= domain, the s= selector and the private key.
type Key struct {
	Domain   string
	Selector string
	Signer   crypto.Signer // *rsa.PrivateKey, ed25519.PrivateKey, or an HSM/KMS signer of either
}

// DefaultHeaders are the header fields signed when present, in the order listed in h=.
var DefaultHeaders = []string{
	"From", "Sender", "Reply-To", "To", "Cc", "Subject", "Date", "Message-ID",
	"In-Reply-To", "References", "MIME-Version", "Content-Type", "Content-Transfer-Encoding",
	"Content-Disposition", "List-Id", "List-Unsubscribe", "List-Unsubscribe-Post",
	"Feedback-ID",
}

// Oversigned fields are listed once more than they occur, so that a verifier fails the
// signature if one is added after signing (RFC 6376 section 8.15). The always-oversigned
// ones are listed even when absent: adding a Reply-To or a second From breaks the signature.
var (
	oversignAlways  = map[string]bool{"from": true, "reply-to": true, "to": true, "cc": true, "subject": true, "date": true, "message-id": true}
	oversignPresent = map[string]bool{"list-unsubscribe": true, "list-unsubscribe-post": true, "content-type": true, "mime-version": true}
)

// MinRSABits is the smallest RSA key accepted (RFC 8301 requires at least 1024; the design
// default is 2048).
const MinRSABits = 1024

// Signer signs messages with one or more keys (typically RSA-2048, plus Ed25519). It is
// safe for concurrent use.
type Signer struct {
	keys    []Key
	headers []string
}

// New returns a signer for the keys, in the order their signatures are added (the first
// ends up topmost). It refuses no key, a nil signer, an empty domain or selector, an
// unsupported key type and RSA keys under MinRSABits.
func New(keys ...Key) (*Signer, error) {
	if len(keys) == 0 {
		return nil, errors.New("dkimsign: new: no key")
	}
	var errs []error
	for i, k := range keys {
		if k.Domain == "" || k.Selector == "" {
			errs = append(errs, fmt.Errorf("key %d: domain and selector are required", i))
		}
		if k.Signer == nil {
			errs = append(errs, fmt.Errorf("key %d: nil signer", i))
			continue
		}
		if _, err := algorithm(k.Signer); err != nil {
			errs = append(errs, fmt.Errorf("key %d: %w", i, err))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("dkimsign: new: %w", errors.Join(errs...))
	}
	return &Signer{keys: append([]Key(nil), keys...), headers: DefaultHeaders}, nil
}

func algorithm(s crypto.Signer) (string, error) {
	switch pub := s.Public().(type) {
	case *rsa.PublicKey:
		if pub.N.BitLen() < MinRSABits {
			return "", fmt.Errorf("rsa key of %d bits is under %d", pub.N.BitLen(), MinRSABits)
		}
		return "rsa-sha256", nil
	case ed25519.PublicKey:
		return "ed25519-sha256", nil
	default:
		return "", fmt.Errorf("unsupported key type %T", pub)
	}
}

// Sign adds one DKIM-Signature per key to msg (a whole RFC 5322 message) and returns the
// signed message and the signature descriptions for message.signed. Line ends are
// normalised to CRLF first (SMTP transmits CRLF, so the signed bytes are the bytes sent).
// Each signature covers the original message, not the other signatures.
func (s *Signer) Sign(msg []byte) ([]byte, []events.DKIMSignature, error) {
	msg = toCRLF(msg)
	hdrEnd := bytes.Index(msg, []byte("\r\n\r\n"))
	if hdrEnd < 0 {
		if !bytes.HasSuffix(msg, []byte("\r\n")) {
			return nil, nil, errors.New("dkimsign: sign: message has no header/body separator")
		}
		hdrEnd = len(msg) - 2
	}
	if !hasField(msg[:hdrEnd+2], "from") {
		return nil, nil, errors.New("dkimsign: sign: message has no From header")
	}
	keys := s.headerKeys(msg[:hdrEnd+2])
	var sigHeaders bytes.Buffer
	descs := make([]events.DKIMSignature, 0, len(s.keys))
	for _, k := range s.keys {
		alg, _ := algorithm(k.Signer)
		ds, err := dkim.NewSigner(&dkim.SignOptions{
			Domain:                 k.Domain,
			Selector:               k.Selector,
			Signer:                 k.Signer,
			Hash:                   crypto.SHA256,
			HeaderCanonicalization: dkim.CanonicalizationRelaxed,
			BodyCanonicalization:   dkim.CanonicalizationRelaxed,
			HeaderKeys:             keys,
		})
		if err != nil {
			return nil, nil, fmt.Errorf("dkimsign: sign %s/%s: %w", k.Domain, k.Selector, err)
		}
		if _, err := ds.Write(msg); err != nil {
			ds.Close()
			return nil, nil, fmt.Errorf("dkimsign: sign %s/%s: %w", k.Domain, k.Selector, err)
		}
		if err := ds.Close(); err != nil {
			return nil, nil, fmt.Errorf("dkimsign: sign %s/%s: %w", k.Domain, k.Selector, err)
		}
		sigHeaders.WriteString(ds.Signature())
		descs = append(descs, events.DKIMSignature{Domain: k.Domain, Selector: k.Selector, Algorithm: alg})
	}
	out := make([]byte, 0, sigHeaders.Len()+len(msg))
	out = append(out, sigHeaders.Bytes()...)
	out = append(out, msg...)
	return out, descs, nil
}

// headerKeys lists the configured fields present in the header, each as often as it occurs,
// plus once more for the oversigned ones.
func (s *Signer) headerKeys(header []byte) []string {
	count := map[string]int{}
	for _, line := range strings.Split(string(header), "\r\n") {
		if line == "" || line[0] == ' ' || line[0] == '\t' {
			continue
		}
		if i := strings.IndexByte(line, ':'); i > 0 {
			count[strings.ToLower(strings.TrimSpace(line[:i]))]++
		}
	}
	var keys []string
	for _, h := range s.headers {
		lh := strings.ToLower(h)
		n := count[lh]
		if oversignAlways[lh] || n > 0 && oversignPresent[lh] {
			n++
		}
		for range n {
			keys = append(keys, h)
		}
	}
	return keys
}

func hasField(header []byte, name string) bool {
	for _, line := range strings.Split(string(header), "\r\n") {
		if i := strings.IndexByte(line, ':'); i > 0 && line[0] != ' ' && line[0] != '\t' && strings.EqualFold(strings.TrimSpace(line[:i]), name) {
			return true
		}
	}
	return false
}

// toCRLF turns bare LF and bare CR into CRLF.
func toCRLF(b []byte) []byte {
	if !bytes.ContainsAny(b, "\r\n") {
		return b
	}
	var out bytes.Buffer
	out.Grow(len(b) + len(b)/40)
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '\r':
			out.WriteString("\r\n")
			if i+1 < len(b) && b[i+1] == '\n' {
				i++
			}
		case '\n':
			out.WriteString("\r\n")
		default:
			out.WriteByte(c)
		}
	}
	return out.Bytes()
}

// ParsePrivateKeyPEM parses a PEM private key: PKCS#1 "RSA PRIVATE KEY" or PKCS#8
// "PRIVATE KEY" holding an RSA or Ed25519 key.
func ParsePrivateKeyPEM(data []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("dkimsign: parse key: no PEM block")
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("dkimsign: parse key: %w", err)
		}
		return k, nil
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("dkimsign: parse key: %w", err)
		}
		switch k := k.(type) {
		case *rsa.PrivateKey:
			return k, nil
		case ed25519.PrivateKey:
			return k, nil
		default:
			return nil, fmt.Errorf("dkimsign: parse key: unsupported key type %T", k)
		}
	default:
		return nil, fmt.Errorf("dkimsign: parse key: unsupported PEM block %q", block.Type)
	}
}

// PublicKeyRecord returns the DNS TXT record that publishes the public half of s:
// "v=DKIM1; k=rsa; p=<SubjectPublicKeyInfo>" or "v=DKIM1; k=ed25519; p=<32 raw bytes>".
func PublicKeyRecord(s crypto.Signer) (string, error) {
	switch pub := s.Public().(type) {
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			return "", fmt.Errorf("dkimsign: public key record: %w", err)
		}
		return "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der), nil
	case ed25519.PublicKey:
		return "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub), nil
	default:
		return "", fmt.Errorf("dkimsign: public key record: unsupported key type %T", pub)
	}
}
