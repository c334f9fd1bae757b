package platform

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/netip"

	"github.com/posthaste/posthaste/domain/submission"
	"github.com/posthaste/posthaste/domain/tenancy"
	"github.com/posthaste/posthaste/events"
)

// Authentication: a secret or a client address → who calls. Each is a bounded lookup
// (credentials.go): its cost does not depend on how many credentials exist.

// AuthenticateAPIKey returns the caller of an API key: its server's credential, recorded as
// api:<credential id>. An unknown, revoked or non-api key is ErrBadCredentials.
func (q *Queries) AuthenticateAPIKey(ctx context.Context, key string) (Caller, error) {
	if key == "" {
		return Caller{}, ErrBadCredentials
	}
	c, ok, err := q.c.creds.byKeyHash(ctx, tenancy.HashSecret(key))
	if err != nil {
		return Caller{}, fmt.Errorf("check api key: %w", err)
	}
	if !ok || c.Revoked {
		return Caller{}, ErrBadCredentials
	}
	return credential(submission.Principal{ServerID: c.ServerID, CredentialID: c.ID, Hold: c.Hold}, events.ActorAPI), nil
}

// AuthenticateSMTP checks an SMTP credential's user name and password (SASL PLAIN and LOGIN) and
// returns its principal. An unknown user, a wrong password and a revoked credential are all
// ErrBadCredentials; the password is hashed either way.
func (q *Queries) AuthenticateSMTP(ctx context.Context, username, password string) (submission.Principal, error) {
	c, ok, err := q.c.creds.byUsername(ctx, username)
	if err != nil {
		return submission.Principal{}, fmt.Errorf("check smtp credential: %w", err)
	}
	got := tenancy.HashSecret(password)
	if !ok || c.Revoked || subtle.ConstantTimeCompare([]byte(got), []byte(c.Hash)) != 1 {
		return submission.Principal{}, ErrBadCredentials
	}
	return submission.Principal{ServerID: c.ServerID, CredentialID: c.ID, Hold: c.Hold}, nil
}

// AuthenticateSMTPIP returns the principal of the active smtp-ip credential whose range holds ip
// (the most specific one when several do); ok false when none does.
func (q *Queries) AuthenticateSMTPIP(ctx context.Context, ip netip.Addr) (submission.Principal, bool, error) {
	c, ok, err := q.c.creds.byClientIP(ctx, ip)
	if err != nil {
		return submission.Principal{}, false, fmt.Errorf("check smtp-ip credentials: %w", err)
	}
	if !ok {
		return submission.Principal{}, false, nil
	}
	return submission.Principal{ServerID: c.ServerID, CredentialID: c.ID, Hold: c.Hold}, true, nil
}

// AuthenticateUser checks a web UI user's email and password and returns its caller (the servers
// of its organizations; a global administrator is an operator), recorded as user:<email>. An
// unknown user or a wrong password is ErrBadCredentials. It needs the password hasher.
func (q *Queries) AuthenticateUser(ctx context.Context, email, password string) (Caller, error) {
	if q.c.d.Hasher == nil {
		return Caller{}, notConfigured("authenticate user", "password hasher")
	}
	u, err := q.c.tenancy.GetUser(ctx, email)
	if isNotFound(err) || errors.Is(err, tenancy.ErrInvalid) {
		q.c.equaliseTiming(password) // the KDF runs whether or not the user exists
		return Caller{}, ErrBadCredentials
	}
	if err != nil {
		return Caller{}, fmt.Errorf("check user: %w", err)
	}
	ok, err := q.c.d.Hasher.Verify(u.PasswordHash, password)
	if err != nil {
		return Caller{}, fmt.Errorf("check user %s: %w", u.ID, err)
	}
	if !ok {
		return Caller{}, ErrBadCredentials
	}
	return user(u.ID, u.Admin, u.Orgs), nil
}

// UserCaller returns the caller of a web UI user already signed in (a session): its current
// memberships, read from its stream, so a membership removed counts at once.
func (q *Queries) UserCaller(ctx context.Context, email string) (Caller, error) {
	u, err := q.c.tenancy.GetUser(ctx, email)
	if isNotFound(err) {
		return Caller{}, notFound("user", email, tenancy.ErrNotFound)
	}
	if err != nil {
		return Caller{}, err
	}
	return user(u.ID, u.Admin, u.Orgs), nil
}

// equaliseTiming runs the password KDF once against a hash made at first use, so signing in as an
// unknown user takes as long as with a wrong password.
func (c *core) equaliseTiming(password string) {
	c.dummyOnce.Do(func() { c.dummyHash, _ = c.d.Hasher.Hash("posthaste: no such user") })
	if c.dummyHash != "" {
		_, _ = c.d.Hasher.Verify(c.dummyHash, password)
	}
}
