package tenancy

import (
	"fmt"
	"net/mail"
	"strings"
)

// maxNameLen bounds organization and server names.
const maxNameLen = 63

// ValidateName checks an organization or server name: 1-63 characters of letters, digits,
// '-', '_' and '.', starting with a letter or digit. Names are case-insensitive: their stream
// ids are the lowercase form.
func ValidateName(kind, name string) error {
	if name == "" {
		return fmt.Errorf("%w: %s name is empty", ErrInvalid, kind)
	}
	if len(name) > maxNameLen {
		return fmt.Errorf("%w: %s name %q is longer than %d characters", ErrInvalid, kind, name, maxNameLen)
	}
	for i, r := range name {
		alnum := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
		if i == 0 && !alnum {
			return fmt.Errorf("%w: %s name %q must start with a letter or digit", ErrInvalid, kind, name)
		}
		if !alnum && r != '-' && r != '_' && r != '.' {
			return fmt.Errorf("%w: %s name %q contains %q (allowed: letters, digits, '-', '_', '.')", ErrInvalid, kind, name, r)
		}
	}
	return nil
}

// ServerRef names a server as ORG/NAME.
type ServerRef struct {
	Org  string
	Name string
}

// ParseServerRef parses "ORG/NAME".
func ParseServerRef(s string) (ServerRef, error) {
	org, name, ok := strings.Cut(s, "/")
	if !ok {
		return ServerRef{}, fmt.Errorf("%w: server %q must be written ORG/NAME", ErrInvalid, s)
	}
	if err := ValidateName("organization", org); err != nil {
		return ServerRef{}, err
	}
	if err := ValidateName("server", name); err != nil {
		return ServerRef{}, err
	}
	return ServerRef{Org: org, Name: name}, nil
}

// ID is the server's id: its stream id and the tenant id (server_id) of its events.
func (r ServerRef) ID() string { return strings.ToLower(r.Org) + "/" + strings.ToLower(r.Name) }

func (r ServerRef) String() string { return r.Org + "/" + r.Name }

// OrgID is the stream id of an organization: its lowercase name.
func OrgID(name string) string { return strings.ToLower(name) }

// NormalizeDomain validates a sending domain name and returns its canonical form (lowercase,
// no trailing dot). It refuses anything that is not a host name of at least two labels.
func NormalizeDomain(s string) (string, error) {
	d := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".")
	if d == "" {
		return "", fmt.Errorf("%w: domain name is empty", ErrInvalid)
	}
	if len(d) > 253 {
		return "", fmt.Errorf("%w: domain name %q is longer than 253 characters", ErrInvalid, s)
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return "", fmt.Errorf("%w: domain name %q needs at least two labels (like example.com)", ErrInvalid, s)
	}
	for _, l := range labels {
		if l == "" {
			return "", fmt.Errorf("%w: domain name %q has an empty label", ErrInvalid, s)
		}
		if len(l) > 63 {
			return "", fmt.Errorf("%w: domain name %q has a label longer than 63 characters", ErrInvalid, s)
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return "", fmt.Errorf("%w: domain name %q has a label starting or ending with '-'", ErrInvalid, s)
		}
		for _, r := range l {
			if r > 0x7f {
				return "", fmt.Errorf("%w: domain name %q is not ASCII: use its punycode (xn--) form", ErrInvalid, s)
			}
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return "", fmt.Errorf("%w: domain name %q contains %q", ErrInvalid, s, r)
			}
		}
	}
	tld := labels[len(labels)-1]
	if strings.Trim(tld, "0123456789") == "" {
		return "", fmt.Errorf("%w: domain name %q has a numeric top-level label", ErrInvalid, s)
	}
	return d, nil
}

// NormalizeEmail validates a bare address ("ops@example.com") and returns it lowercase, which is
// also the user's stream id.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("%w: email is empty", ErrInvalid)
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", fmt.Errorf("%w: email %q is not a plain address like ops@example.com", ErrInvalid, s)
	}
	at := strings.LastIndexByte(a.Address, '@')
	if _, err := NormalizeDomain(a.Address[at+1:]); err != nil {
		return "", fmt.Errorf("%w: email %q has a malformed domain", ErrInvalid, s)
	}
	return strings.ToLower(a.Address), nil
}
