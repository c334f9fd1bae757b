package tenancy

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/posthaste/posthaste/events"
)

// Credential types.
const (
	CredentialSMTP   = "smtp"    // SMTP AUTH username + password
	CredentialAPI    = "api"     // HTTP API key (X-Server-API-Key)
	CredentialSMTPIP = "smtp-ip" // unauthenticated SMTP from a CIDR
)

// Credential lets a sending service submit mail to one server. Stream id: a UUIDv7.
type Credential struct {
	ID        string
	ServerID  string
	Type      string
	Name      string
	Username  string // smtp
	Hash      string // HashSecret of the password (smtp) or key (api)
	KeyPrefix string // api: the key's first characters, shown in lists
	CIDR      string // smtp-ip
	Hold      bool   // mail submitted with it is held
	Revoked   bool
	RevokedAt time.Time
	CreatedAt time.Time
}

// Exists reports whether the credential stream had its creation event.
func (c *Credential) Exists() bool { return c.ID != "" }

func (c *Credential) apply(env events.Envelope, ev events.Event) {
	switch e := ev.(type) {
	case *events.CredentialCreated:
		*c = Credential{ID: env.StreamID, ServerID: env.Server(), Type: e.Type, Name: e.Name, Username: e.Username,
			Hash: e.Hash, KeyPrefix: e.KeyPrefix, CIDR: e.CIDR, Hold: e.Hold, CreatedAt: env.OccurredAt}
	case *events.CredentialUpdated:
		if e.Name != nil {
			c.Name = *e.Name
		}
		if e.Hold != nil {
			c.Hold = *e.Hold
		}
	case *events.CredentialRevoked:
		c.Revoked, c.RevokedAt = true, env.OccurredAt
	}
}

// normalizeCIDR parses an smtp-ip range; a bare address is a single-host range.
func normalizeCIDR(s string) (string, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()).String(), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return "", fmt.Errorf("%w: cidr %q is not an address or range like 192.0.2.0/24", ErrInvalid, s)
	}
	if p.Masked() != p {
		return "", fmt.Errorf("%w: cidr %q has host bits set (did you mean %s?)", ErrInvalid, s, p.Masked())
	}
	return p.String(), nil
}

// decideRevoke refuses revoking twice.
func (c *Credential) decideRevoke(reason string) ([]events.Event, error) {
	if !c.Exists() {
		return nil, fmt.Errorf("credential %w", ErrNotFound)
	}
	if c.Revoked {
		return nil, fmt.Errorf("%w: credential %s is already revoked", ErrInvalid, c.ID)
	}
	return []events.Event{events.CredentialRevoked{Reason: reason}}, nil
}
