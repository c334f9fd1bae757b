// Package tenancyview is the read model of the configuration streams: servers, sending domains,
// credentials, users and memberships, in tables tenancy_*. It serves the hot lookups of the
// submission side (SMTP AUTH by username, API key by hash, SMTP-IP ranges, a server's verified
// domains) without reading every stream.
//
// It owns the tenancy_* tables and nothing else; it performs no side effects. Admin commands do
// not read it: they read their own writes from the event streams (domain/tenancy).
package tenancyview

import (
	"context"
	"errors"
	"fmt"

	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections"
)

// Name is the projection's stable name (queue, checkpoints, replay target).
const Name = "tenancy"

// Projection maintains the tenancy_* tables.
type Projection struct{}

// New returns the projection.
func New() Projection { return Projection{} }

func (Projection) Name() string { return Name }

func (Projection) Tables() []string {
	return []string{"tenancy_servers", "tenancy_domains", "tenancy_credentials", "tenancy_users", "tenancy_memberships"}
}

// Apply folds one configuration event into the tables; other events are ignored. A payload that
// does not decode is poison.
func (Projection) Apply(ctx context.Context, tx projections.Tx, rec events.Record) error {
	env := rec.Envelope
	switch env.StreamType {
	case events.StreamServer, events.StreamDomain, events.StreamCredential, events.StreamUser:
	default:
		return nil
	}
	ev, err := events.Decode(env)
	if errors.Is(err, events.ErrUnknownType) {
		return nil // a newer producer's event: nothing this version keeps
	}
	if err != nil {
		return projections.Poison(err)
	}
	exec := func(q string, args ...any) error {
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("tenancyview: %s %s/%s@%d: %w", env.Type, env.StreamType, env.StreamID, env.StreamVersion, err)
		}
		return nil
	}
	switch e := ev.(type) {
	case *events.ServerCreated:
		return exec(`INSERT INTO tenancy_servers (id, org_id, name, mode, send_limit_per_hour, retention_days) VALUES (?, ?, ?, ?, ?, ?)`,
			env.StreamID, e.OrgID, e.Name, e.Mode, e.SendLimitPerHour, e.RetentionDays)
	case *events.ServerUpdated:
		if e.Mode != nil {
			if err := exec(`UPDATE tenancy_servers SET mode = ? WHERE id = ?`, *e.Mode, env.StreamID); err != nil {
				return err
			}
		}
		if e.SendLimitPerHour != nil {
			if err := exec(`UPDATE tenancy_servers SET send_limit_per_hour = ? WHERE id = ?`, *e.SendLimitPerHour, env.StreamID); err != nil {
				return err
			}
		}
		if e.RetentionDays != nil {
			return exec(`UPDATE tenancy_servers SET retention_days = ? WHERE id = ?`, *e.RetentionDays, env.StreamID)
		}
	case *events.DomainAdded:
		return exec(`INSERT INTO tenancy_domains (name, server_id, verified) VALUES (?, ?, ?)`, env.StreamID, env.Server(), false)
	case *events.DomainVerified:
		return exec(`UPDATE tenancy_domains SET verified = ? WHERE name = ?`, true, env.StreamID)
	case *events.CredentialCreated:
		return exec(`INSERT INTO tenancy_credentials (id, server_id, type, name, username, hash, key_prefix, cidr, hold, revoked)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			env.StreamID, env.Server(), e.Type, e.Name, e.Username, e.Hash, e.KeyPrefix, e.CIDR, e.Hold, false)
	case *events.CredentialUpdated:
		if e.Name != nil {
			if err := exec(`UPDATE tenancy_credentials SET name = ? WHERE id = ?`, *e.Name, env.StreamID); err != nil {
				return err
			}
		}
		if e.Hold != nil {
			return exec(`UPDATE tenancy_credentials SET hold = ? WHERE id = ?`, *e.Hold, env.StreamID)
		}
	case *events.CredentialRevoked:
		return exec(`UPDATE tenancy_credentials SET revoked = ? WHERE id = ?`, true, env.StreamID)
	case *events.UserCreated:
		return exec(`INSERT INTO tenancy_users (email, admin, password_hash) VALUES (?, ?, ?)`, env.StreamID, e.Admin, e.PasswordHash)
	case *events.UserMembershipChanged:
		if err := exec(`DELETE FROM tenancy_memberships WHERE email = ? AND org_id = ?`, env.StreamID, e.OrgID); err != nil {
			return err
		}
		if e.Role != "none" {
			return exec(`INSERT INTO tenancy_memberships (email, org_id, role) VALUES (?, ?, ?)`, env.StreamID, e.OrgID, e.Role)
		}
	}
	return nil
}
