package tenancyview

import (
	"context"
	"database/sql"
	"fmt"
)

// Credential is a row of tenancy_credentials.
type Credential struct {
	ID, ServerID, Type, Name, Username, Hash, KeyPrefix, CIDR string
	Hold, Revoked                                             bool
}

const credentialCols = `id, server_id, type, name, username, hash, key_prefix, cidr, hold, revoked`

func scanCredentials(rows *sql.Rows) ([]Credential, error) {
	defer rows.Close()
	var out []Credential
	for rows.Next() {
		var c Credential
		if err := rows.Scan(&c.ID, &c.ServerID, &c.Type, &c.Name, &c.Username, &c.Hash, &c.KeyPrefix, &c.CIDR, &c.Hold, &c.Revoked); err != nil {
			return nil, fmt.Errorf("tenancyview: scan credential: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func oneCredential(ctx context.Context, db *sql.DB, where string, arg any) (Credential, bool, error) {
	rows, err := db.QueryContext(ctx, `SELECT `+credentialCols+` FROM tenancy_credentials WHERE `+where, arg)
	if err != nil {
		return Credential{}, false, fmt.Errorf("tenancyview: query credential: %w", err)
	}
	cs, err := scanCredentials(rows)
	if err != nil || len(cs) == 0 {
		return Credential{}, false, err
	}
	return cs[0], true, nil
}

// CredentialByUsername finds the SMTP credential of a username (revoked ones included).
func CredentialByUsername(ctx context.Context, db *sql.DB, username string) (Credential, bool, error) {
	return oneCredential(ctx, db, `type = 'smtp' AND username = ?`, username)
}

// CredentialByHash finds the credential whose secret hashes to hash (API keys).
func CredentialByHash(ctx context.Context, db *sql.DB, hash string) (Credential, bool, error) {
	return oneCredential(ctx, db, `hash = ?`, hash)
}

// ActiveCredentials lists the non-revoked credentials of a type, of every server.
func ActiveCredentials(ctx context.Context, db *sql.DB, typ string) ([]Credential, error) {
	rows, err := db.QueryContext(ctx, `SELECT `+credentialCols+` FROM tenancy_credentials WHERE type = ? AND revoked = ? ORDER BY id`, typ, false)
	if err != nil {
		return nil, fmt.Errorf("tenancyview: query credentials: %w", err)
	}
	return scanCredentials(rows)
}

// Domain is a row of tenancy_domains.
type Domain struct {
	Name, ServerID string
	Verified       bool
}

// DomainsOfServer lists a server's sending domains by name.
func DomainsOfServer(ctx context.Context, db *sql.DB, serverID string) ([]Domain, error) {
	rows, err := db.QueryContext(ctx, `SELECT name, server_id, verified FROM tenancy_domains WHERE server_id = ? ORDER BY name`, serverID)
	if err != nil {
		return nil, fmt.Errorf("tenancyview: query domains: %w", err)
	}
	defer rows.Close()
	var out []Domain
	for rows.Next() {
		var d Domain
		if err := rows.Scan(&d.Name, &d.ServerID, &d.Verified); err != nil {
			return nil, fmt.Errorf("tenancyview: scan domain: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
