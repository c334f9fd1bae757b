package delivery

import (
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
)

// VERP return paths. Each message (one recipient) gets its own envelope sender on the
// return-path domain, so that a bounce sent to it names exactly one message:
//
//	b+<id>@<domain>     when the id is made of lowercase letters, digits and '-' (UUIDs)
//	b=<base32>@<domain> for any other id (lowercase RFC 4648 base32, no padding)
//
// Both forms survive a remote server changing the case of the local part: the first holds
// no uppercase letter, the second is decoded case-insensitively. The two prefixes cannot be
// confused, so an address decodes to at most one id.
const (
	verpPlain   = "b+"
	verpEncoded = "b="
	maxLocalLen = 64 // RFC 5321 section 4.5.3.1.1
)

var verpB32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// ErrNotVERP is returned by DecodeReturnPath for an address that is not one of ours.
var ErrNotVERP = errors.New("not a VERP return path")

// EncodeReturnPath returns the return path of message id on domain.
func EncodeReturnPath(messageID, domain string) (string, error) {
	domain = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(domain)), ".")
	if messageID == "" || domain == "" || strings.ContainsAny(domain, "@ \t\r\n<>") {
		return "", fmt.Errorf("delivery: encode return path: id %q or domain %q is empty or invalid", messageID, domain)
	}
	var local string
	if plainID(messageID) {
		local = verpPlain + messageID
	} else {
		local = verpEncoded + strings.ToLower(verpB32.EncodeToString([]byte(messageID)))
	}
	if len(local) > maxLocalLen {
		return "", fmt.Errorf("delivery: encode return path: id %q makes a local part longer than %d", messageID, maxLocalLen)
	}
	return local + "@" + domain, nil
}

// DecodeReturnPath returns the message id of a return path made by EncodeReturnPath on
// domain. Angle brackets are accepted; the domain and prefix compare case-insensitively.
// Any other address gives an error wrapping ErrNotVERP.
func DecodeReturnPath(addr, domain string) (string, error) {
	a := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(addr), "<"), ">")
	at := strings.LastIndexByte(a, '@')
	domain = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(domain)), ".")
	if at < 0 || !strings.EqualFold(strings.TrimSuffix(a[at+1:], "."), domain) {
		return "", fmt.Errorf("delivery: decode return path %q: %w", addr, ErrNotVERP)
	}
	local := strings.ToLower(a[:at])
	switch {
	case strings.HasPrefix(local, verpPlain):
		id := local[len(verpPlain):]
		if id != "" && plainID(id) {
			return id, nil
		}
	case strings.HasPrefix(local, verpEncoded):
		b, err := verpB32.DecodeString(strings.ToUpper(local[len(verpEncoded):]))
		// Reject anything EncodeReturnPath would not have produced (it would use the plain
		// form), so that one message has exactly one return path.
		if err == nil && len(b) > 0 && !plainID(string(b)) {
			return string(b), nil
		}
	}
	return "", fmt.Errorf("delivery: decode return path %q: %w", addr, ErrNotVERP)
}

func plainID(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
