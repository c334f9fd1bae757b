package events

import "time"

// Configuration stream events. They never carry secrets: passwords, API keys, webhook
// secrets and private keys live in the secrets table and are referenced by id. Credential
// hashes may appear.

// OrgCreated: stream org/<org id>.
type OrgCreated struct {
	Name string `json:"name"`
}

func (OrgCreated) EventType() string { return "org.created" }

// UserCreated: stream user/<user id>.
type UserCreated struct {
	Email        string `json:"email"`
	Admin        bool   `json:"admin"`
	PasswordHash string `json:"password_hash,omitempty"` // KDF output, never the password
}

func (UserCreated) EventType() string { return "user.created" }

// UserMembershipChanged: a user joined, changed role in, or left an organization.
type UserMembershipChanged struct {
	OrgID string `json:"org_id"`
	Role  string `json:"role"` // admin, member, none (removed)
}

func (UserMembershipChanged) EventType() string { return "user.membership_changed" }

// ServerCreated: stream server/<server id>; server_id is the server itself.
type ServerCreated struct {
	OrgID            string `json:"org_id"`
	OrgName          string `json:"org_name"`
	Name             string `json:"name"`
	Mode             string `json:"mode"` // live, development
	SendLimitPerHour int    `json:"send_limit_per_hour"`
	RetentionDays    int    `json:"retention_days"`
}

func (ServerCreated) EventType() string { return "server.created" }

// ServerUpdated carries only the fields that changed (nil = unchanged).
type ServerUpdated struct {
	Mode             *string `json:"mode,omitempty"`
	SendLimitPerHour *int    `json:"send_limit_per_hour,omitempty"`
	RetentionDays    *int    `json:"retention_days,omitempty"`
	SuppressOnHard   *bool   `json:"suppress_on_hard_bounce,omitempty"`
	SuppressOnSpam   *bool   `json:"suppress_on_complaint,omitempty"`
}

func (ServerUpdated) EventType() string { return "server.updated" }

// DKIMKey is the public half of a domain's signing key; the private half is a secret.
type DKIMKey struct {
	Selector  string `json:"selector"`
	Algorithm string `json:"algorithm"` // rsa-sha256, ed25519-sha256
	Bits      int    `json:"bits,omitempty"`
	PublicKey string `json:"public_key"` // base64, as published in p=
	SecretID  string `json:"secret_id"`
}

// DomainAdded: stream domain/<domain id>.
type DomainAdded struct {
	Name              string    `json:"name"`
	VerificationToken string    `json:"verification_token"`
	Keys              []DKIMKey `json:"dkim_keys"`
	SkipVerification  bool      `json:"skip_verification,omitempty"`
}

func (DomainAdded) EventType() string { return "domain.added" }

// DomainVerified: ownership was proven (or skipped by an operator: Method "skipped").
type DomainVerified struct {
	Method string `json:"method"` // dns, skipped
}

func (DomainVerified) EventType() string { return "domain.verified" }

// DNSRecordCheck is the result of checking one record.
type DNSRecordCheck struct {
	Purpose  string `json:"purpose"` // verification, spf, dkim, dmarc, return_path, mx
	Name     string `json:"name"`
	Status   string `json:"status"` // ok, missing, invalid
	Reason   string `json:"reason,omitempty"`
	Required bool   `json:"required"`
}

// DomainDNSChecked: the domain's records were looked up.
type DomainDNSChecked struct {
	Records []DNSRecordCheck `json:"records"`
	AllOK   bool             `json:"all_required_ok"`
}

func (DomainDNSChecked) EventType() string { return "domain.dns_checked" }

// DomainDKIMRotated: a new key was published; it signs once seen in DNS (ActiveSelector).
type DomainDKIMRotated struct {
	NewKey         DKIMKey `json:"new_key"`
	ActiveSelector string  `json:"active_selector,omitempty"`
}

func (DomainDKIMRotated) EventType() string { return "domain.dkim_rotated" }

// CredentialCreated: stream credential/<credential id>.
type CredentialCreated struct {
	Type      string `json:"type"` // smtp, api, smtp-ip
	Name      string `json:"name"`
	Username  string `json:"username,omitempty"`
	Hash      string `json:"hash,omitempty"` // of the password or key; never the secret
	KeyPrefix string `json:"key_prefix,omitempty"`
	CIDR      string `json:"cidr,omitempty"`
	Hold      bool   `json:"hold"`
}

func (CredentialCreated) EventType() string { return "credential.created" }

// CredentialUpdated carries only the fields that changed.
type CredentialUpdated struct {
	Name *string `json:"name,omitempty"`
	Hold *bool   `json:"hold,omitempty"`
}

func (CredentialUpdated) EventType() string { return "credential.updated" }

// CredentialRevoked: the credential no longer authenticates.
type CredentialRevoked struct {
	Reason string `json:"reason,omitempty"`
}

func (CredentialRevoked) EventType() string { return "credential.revoked" }

// SuppressionAdded: stream suppression/<server id>:<address>.
type SuppressionAdded struct {
	Address   string     `json:"address"`
	Reason    string     `json:"reason"` // hard_bounce, complaint, manual, unsubscribe
	CausedBy  string     `json:"caused_by_event,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

func (SuppressionAdded) EventType() string { return "suppression.added" }

// SuppressionRemoved: the address may receive mail again.
type SuppressionRemoved struct {
	Address string `json:"address"`
	Reason  string `json:"reason,omitempty"` // manual, expired
}

func (SuppressionRemoved) EventType() string { return "suppression.removed" }

// WebhookCreated: stream webhook/<webhook id>.
type WebhookCreated struct {
	URL      string   `json:"url"`
	Events   []string `json:"events"` // wire names; empty = all
	Format   string   `json:"format"` // standard, postal
	SecretID string   `json:"secret_id"`
	Enabled  bool     `json:"enabled"`
}

func (WebhookCreated) EventType() string { return "webhook.created" }

// WebhookUpdated carries only the fields that changed.
type WebhookUpdated struct {
	URL     *string   `json:"url,omitempty"`
	Events  *[]string `json:"events,omitempty"`
	Enabled *bool     `json:"enabled,omitempty"`
	Format  *string   `json:"format,omitempty"` // standard or postal
}

func (WebhookUpdated) EventType() string { return "webhook.updated" }

// WebhookSecretRotated: a new secret signs; the previous one also signs until PreviousUntil.
type WebhookSecretRotated struct {
	SecretID         string    `json:"secret_id"`
	PreviousSecretID string    `json:"previous_secret_id"`
	PreviousUntil    time.Time `json:"previous_valid_until"`
}

func (WebhookSecretRotated) EventType() string { return "webhook.secret_rotated" }

// WebhookDisabled: by an operator, or by a 410 Gone from the receiver.
type WebhookDisabled struct {
	Reason string `json:"reason"`
}

func (WebhookDisabled) EventType() string { return "webhook.disabled" }

// ServerSendLimitApproaching: the rolling-hour count crossed the warning threshold.
type ServerSendLimitApproaching struct {
	Count int `json:"count"`
	Limit int `json:"limit"`
}

func (ServerSendLimitApproaching) EventType() string { return "server.send_limit_approaching" }

// ServerSendLimitExceeded: further mail in the hour is held.
type ServerSendLimitExceeded struct {
	Count int `json:"count"`
	Limit int `json:"limit"`
}

func (ServerSendLimitExceeded) EventType() string { return "server.send_limit_exceeded" }

func init() {
	register(OrgCreated{}, 1)
	register(UserCreated{}, 1)
	register(UserMembershipChanged{}, 1)
	register(ServerCreated{}, 1)
	register(ServerUpdated{}, 1)
	register(DomainAdded{}, 1)
	register(DomainVerified{}, 1)
	register(DomainDNSChecked{}, 1)
	register(DomainDKIMRotated{}, 1)
	register(CredentialCreated{}, 1)
	register(CredentialUpdated{}, 1)
	register(CredentialRevoked{}, 1)
	register(SuppressionAdded{}, 1)
	register(SuppressionRemoved{}, 1)
	register(WebhookCreated{}, 1)
	register(WebhookUpdated{}, 1)
	register(WebhookSecretRotated{}, 1)
	register(WebhookDisabled{}, 1)
	register(ServerSendLimitApproaching{}, 1)
	register(ServerSendLimitExceeded{}, 1)
}
