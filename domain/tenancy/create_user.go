package tenancy

import (
	"context"
	"errors"
	"fmt"

	"github.com/posthaste/posthaste/events"
)

// CreateUser creates a user with a password, optionally a member of Org.
type CreateUser struct {
	Email    string
	Password string // checked by CheckPasswordStrength, hashed by the PasswordHasher, then dropped
	Admin    bool
	Org      string // "" = no membership yet
	Role     string // member (default) or admin, with Org
	Actor    events.Actor
}

// CreateUser appends user.created (and user.membership_changed with Org) to stream
// user/<lowercase email>, in one transaction.
func (h *Handlers) CreateUser(ctx context.Context, c CreateUser) (User, error) {
	if h.d.Hasher == nil {
		return User{}, errors.New("create user: no password hasher configured")
	}
	email, err := NormalizeEmail(c.Email)
	if err != nil {
		return User{}, err
	}
	if err := CheckPasswordStrength(c.Password, email); err != nil {
		return User{}, err
	}
	var org *Org
	role := c.Role
	if c.Org != "" {
		o, err := h.GetOrg(ctx, c.Org)
		if err != nil {
			return User{}, err
		}
		org = &o
		if role == "" {
			role = RoleMember
		}
		if role != RoleMember && role != RoleAdmin {
			return User{}, fmt.Errorf("%w: role %q (want member or admin)", ErrInvalid, role)
		}
	}
	s := stream{typ: events.StreamUser, id: email}
	var existing User
	if v, err := h.load(ctx, s.typ, s.id, &existing); err != nil {
		return User{}, err
	} else if v > 0 { // fail before the slow KDF; the append below is what guarantees it
		return User{}, fmt.Errorf("user %q %w", email, ErrAlreadyExists)
	}
	hash, err := h.d.Hasher.Hash(c.Password)
	if err != nil {
		return User{}, fmt.Errorf("create user: hash password: %w", err)
	}
	if _, err := h.append(ctx, s, c.Actor, fmt.Sprintf("user %q", email), decideCreateUser(email, c.Admin, hash, org, role)...); err != nil {
		return User{}, err
	}
	return h.GetUser(ctx, email)
}

// GetUser reads a user from its stream.
func (h *Handlers) GetUser(ctx context.Context, email string) (User, error) {
	id, err := NormalizeEmail(email)
	if err != nil {
		return User{}, err
	}
	var u User
	if _, err := h.load(ctx, events.StreamUser, id, &u); err != nil {
		return User{}, err
	}
	if !u.Exists() {
		return User{}, fmt.Errorf("user %q %w", email, ErrNotFound)
	}
	return u, nil
}
