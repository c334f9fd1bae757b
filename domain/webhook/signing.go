package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// SecretPrefix starts every Standard Webhooks secret.
const SecretPrefix = "whsec_"

// secretBytes is the length of the random key inside a secret.
const secretBytes = 32

// NewSecret returns "whsec_" + base64 of 32 bytes read from r.
func NewSecret(r io.Reader) (string, error) {
	var b [secretBytes]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("webhook: new secret: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b[:]), nil
}

// SecretKey returns the HMAC key of a "whsec_…" secret (the base64-decoded part).
func SecretKey(secret string) ([]byte, error) {
	s, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return nil, errors.New("webhook: secret does not start with whsec_")
	}
	k, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(k) == 0 {
		return nil, errors.New("webhook: secret is not base64 after whsec_")
	}
	return k, nil
}

// Headers of a Standard Webhooks request.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// Signature returns the webhook-signature header value for one request: "v1,<base64 HMAC-SHA256
// of id.timestamp.body>" per key, space-separated (two keys while a rotation is in its grace
// period). It is a pure function: the caller picks the id, time and keys.
func Signature(keys [][]byte, id string, ts time.Time, body []byte) string {
	var sb strings.Builder
	prefix := id + "." + strconv.FormatInt(ts.Unix(), 10) + "."
	for i, k := range keys {
		m := hmac.New(sha256.New, k)
		io.WriteString(m, prefix)
		m.Write(body)
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString("v1,")
		sb.WriteString(base64.StdEncoding.EncodeToString(m.Sum(nil)))
	}
	return sb.String()
}
