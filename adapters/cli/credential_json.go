package cli

import (
	"time"

	"github.com/posthaste/posthaste/domain/tenancy"
)

// newCredentialJSON is the once-only output of credential create: exactly
// {"id","type","username","password"} (smtp), {"id","type","key"} (api), {"id","type","cidr"} (smtp-ip).
type newCredentialJSON struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	Key      string `json:"key,omitempty"`
	CIDR     string `json:"cidr,omitempty"`
}

type credentialJSON struct {
	ID        string     `json:"id"`
	Server    string     `json:"server"`
	Type      string     `json:"type"`
	Name      string     `json:"name"`
	Username  string     `json:"username,omitempty"`
	KeyPrefix string     `json:"key_prefix,omitempty"`
	CIDR      string     `json:"cidr,omitempty"`
	Hold      bool       `json:"hold"`
	Revoked   bool       `json:"revoked"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

func toCredentialJSON(c tenancy.Credential) credentialJSON {
	out := credentialJSON{ID: c.ID, Server: c.ServerID, Type: c.Type, Name: c.Name, Username: c.Username, KeyPrefix: c.KeyPrefix,
		CIDR: c.CIDR, Hold: c.Hold, Revoked: c.Revoked, CreatedAt: c.CreatedAt.UTC()}
	if c.Revoked {
		t := c.RevokedAt.UTC()
		out.RevokedAt = &t
	}
	return out
}
