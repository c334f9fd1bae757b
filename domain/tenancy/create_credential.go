package tenancy

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/posthaste/posthaste/events"
)

// CreateCredential creates a credential of Type for Server.
type CreateCredential struct {
	Server ServerRef
	Type   string // smtp, api, smtp-ip
	Name   string // "" = derived from the credential
	CIDR   string // smtp-ip only, required there
	Hold   bool
	Actor  events.Actor
}

// NewCredential is a created credential with its secret, to be shown once and never again.
type NewCredential struct {
	Credential
	Password string // smtp
	Key      string // api
}

// secretAlphabet makes secrets easy to paste into config files (no symbols, no look-alikes).
const secretAlphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// randomString draws n characters of secretAlphabet from rnd without modulo bias.
func randomString(rnd io.Reader, n int) (string, error) {
	var b strings.Builder
	buf := make([]byte, 1)
	for b.Len() < n {
		if _, err := io.ReadFull(rnd, buf); err != nil {
			return "", err
		}
		if int(buf[0]) >= 256-256%len(secretAlphabet) {
			continue
		}
		b.WriteByte(secretAlphabet[int(buf[0])%len(secretAlphabet)])
	}
	return b.String(), nil
}

// Secret lengths: 32 characters of a 57-letter alphabet carry ~186 bits.
const (
	secretLen      = 32
	usernameSuffix = 8
	keyPrefixLen   = 8
)

// CreateCredential appends credential.created to a new stream credential/<uuid>. The password
// or key is returned once; the event carries only its hash.
func (h *Handlers) CreateCredential(ctx context.Context, c CreateCredential) (NewCredential, error) {
	srv, err := h.GetServer(ctx, c.Server)
	if err != nil {
		return NewCredential{}, err
	}
	if c.CIDR != "" && c.Type != CredentialSMTPIP {
		return NewCredential{}, fmt.Errorf("%w: --cidr applies to smtp-ip credentials only", ErrInvalid)
	}
	ev := events.CredentialCreated{Type: c.Type, Name: c.Name, Hold: c.Hold}
	var out NewCredential
	switch c.Type {
	case CredentialSMTP:
		suffix, err := randomString(h.d.Rand, usernameSuffix)
		if err != nil {
			return NewCredential{}, fmt.Errorf("create credential: %w", err)
		}
		if out.Password, err = randomString(h.d.Rand, secretLen); err != nil {
			return NewCredential{}, fmt.Errorf("create credential: %w", err)
		}
		// The username names its server, so operators recognise it; the suffix keeps it unique.
		ev.Username = strings.ToLower(strings.ReplaceAll(srv.ID, "/", "-")) + "-" + strings.ToLower(suffix)
		ev.Hash = HashSecret(out.Password)
	case CredentialAPI:
		if out.Key, err = randomString(h.d.Rand, secretLen); err != nil {
			return NewCredential{}, fmt.Errorf("create credential: %w", err)
		}
		ev.Hash, ev.KeyPrefix = HashSecret(out.Key), out.Key[:keyPrefixLen]
	case CredentialSMTPIP:
		if c.CIDR == "" {
			return NewCredential{}, fmt.Errorf("%w: smtp-ip credentials need --cidr", ErrInvalid)
		}
		if ev.CIDR, err = normalizeCIDR(c.CIDR); err != nil {
			return NewCredential{}, err
		}
	default:
		return NewCredential{}, fmt.Errorf("%w: credential type %q (want smtp, api or smtp-ip)", ErrInvalid, c.Type)
	}
	if ev.Name == "" {
		ev.Name = ev.Username + ev.KeyPrefix + ev.CIDR
	}
	id := events.NewID(h.d.Clock(), h.d.Rand)
	s := stream{typ: events.StreamCredential, id: id, serverID: srv.ID}
	if _, err := h.append(ctx, s, c.Actor, "credential "+id, ev); err != nil {
		return NewCredential{}, err
	}
	cred, err := h.GetCredential(ctx, id)
	if err != nil {
		return NewCredential{}, err
	}
	out.Credential = cred
	return out, nil
}

// GetCredential reads a credential from its stream.
func (h *Handlers) GetCredential(ctx context.Context, id string) (Credential, error) {
	var c Credential
	if _, err := h.load(ctx, events.StreamCredential, id, &c); err != nil {
		return Credential{}, err
	}
	if !c.Exists() {
		return Credential{}, fmt.Errorf("credential %q %w", id, ErrNotFound)
	}
	return c, nil
}
