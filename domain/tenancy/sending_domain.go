package tenancy

import (
	"time"

	"github.com/posthaste/posthaste/events"
)

// DKIM key states within a domain.
const (
	KeyActive  = "active"  // signs mail
	KeyPending = "pending" // published by a rotation, signs once seen in DNS
	KeyRetired = "retired" // replaced by a rotation; no longer signs
)

// DomainKey is one DKIM key of a domain and its state.
type DomainKey struct {
	events.DKIMKey
	State string
}

// SendingDomain is a domain a server sends from; the stream id is the lowercase domain name.
type SendingDomain struct {
	Name              string
	ServerID          string
	VerificationToken string
	Keys              []DomainKey
	Verified          bool
	VerifiedMethod    string // dns, skipped
	VerifiedAt        time.Time
	LastCheck         *events.DomainDNSChecked
	LastCheckedAt     time.Time
	CreatedAt         time.Time
}

// Exists reports whether the domain stream had its creation event.
func (d *SendingDomain) Exists() bool { return d.Name != "" }

// SigningKeys are the keys that sign outgoing mail now (one per algorithm).
func (d *SendingDomain) SigningKeys() []events.DKIMKey {
	var out []events.DKIMKey
	for _, k := range d.Keys {
		if k.State == KeyActive {
			out = append(out, k.DKIMKey)
		}
	}
	return out
}

// CanSend reports whether mail From this domain may be sent: ownership was proven (or skipped).
func (d *SendingDomain) CanSend() bool { return d.Verified }

func (d *SendingDomain) apply(env events.Envelope, ev events.Event) {
	switch e := ev.(type) {
	case *events.DomainAdded:
		d.Name, d.ServerID, d.VerificationToken, d.CreatedAt = e.Name, env.Server(), e.VerificationToken, env.OccurredAt
		d.Keys = nil
		for _, k := range e.Keys {
			d.Keys = append(d.Keys, DomainKey{DKIMKey: k, State: KeyActive})
		}
	case *events.DomainVerified:
		d.Verified, d.VerifiedMethod, d.VerifiedAt = true, e.Method, env.OccurredAt
	case *events.DomainDNSChecked:
		c := *e
		d.LastCheck, d.LastCheckedAt = &c, env.OccurredAt
	case *events.DomainDKIMRotated:
		if e.ActiveSelector == "" { // published, not yet signing
			d.Keys = append(d.Keys, DomainKey{DKIMKey: e.NewKey, State: KeyPending})
			return
		}
		// The pending key was seen in DNS: it replaces the active key of its algorithm.
		for i := range d.Keys {
			k := &d.Keys[i]
			switch {
			case k.Selector == e.ActiveSelector:
				k.State = KeyActive
			case k.Algorithm == e.NewKey.Algorithm && k.State == KeyActive:
				k.State = KeyRetired
			}
		}
	}
}

// decideAddDomain builds the domain's first events; skip marks it verified without DNS.
func decideAddDomain(name, token string, keys []events.DKIMKey, skip bool) []events.Event {
	evs := []events.Event{events.DomainAdded{Name: name, VerificationToken: token, Keys: keys, SkipVerification: skip}}
	if skip {
		evs = append(evs, events.DomainVerified{Method: "skipped"})
	}
	return evs
}

// decideDNSChecked records a check and what it proves: ownership (domain.verified, once) and
// pending DKIM keys now visible in DNS (domain.dkim_rotated with ActiveSelector).
func (d *SendingDomain) decideDNSChecked(checks []events.DNSRecordCheck) []events.Event {
	allOK := true
	ownership := false
	seen := map[string]bool{}
	for _, c := range checks {
		if c.Required && c.Status != StatusOK {
			allOK = false
		}
		if c.Purpose == PurposeVerification && c.Status == StatusOK {
			ownership = true
		}
		if c.Purpose == PurposeDKIM && c.Status == StatusOK {
			seen[c.Name] = true
		}
	}
	evs := []events.Event{events.DomainDNSChecked{Records: checks, AllOK: allOK}}
	if ownership && !d.Verified {
		evs = append(evs, events.DomainVerified{Method: "dns"})
	}
	for _, k := range d.Keys {
		if k.State == KeyPending && seen[dkimName(k.Selector, d.Name)] {
			evs = append(evs, events.DomainDKIMRotated{NewKey: k.DKIMKey, ActiveSelector: k.Selector})
		}
	}
	return evs
}
