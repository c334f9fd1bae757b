package platform

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/tenancy"
	"github.com/posthaste/posthaste/events"
)

// credentials finds credentials by key with the freshness rule: one read-model row by key, the
// credential's own stream for its current state (a revocation counts at once), and, when the
// model has no row, the credential.created events past the model's horizon (a credential created
// a moment ago). It never reads every credential: the statements one lookup costs do not depend
// on how many credentials exist (credentials_test.go counts them).
type credentials struct {
	store   domain.EventStore
	index   CredentialIndex // nil: no rows, horizon 0
	tenancy *tenancy.Handlers
}

var createdType = (events.CredentialCreated{}).EventType()

// byUsername returns the smtp credential of a user name (revoked ones included; ok false when
// none). User names are made lower case, so the name is compared in lower case.
func (c credentials) byUsername(ctx context.Context, username string) (tenancy.Credential, bool, error) {
	name := strings.ToLower(strings.TrimSpace(username))
	if name == "" {
		return tenancy.Credential{}, false, nil
	}
	match := func(e *events.CredentialCreated) bool { return e.Type == tenancy.CredentialSMTP && e.Username == name }
	return c.byKey(ctx, match, func() (tenancy.Credential, bool, error) {
		row, ok, err := c.index.CredentialByUsername(ctx, name)
		if err != nil {
			return row, false, fmt.Errorf("credential by user name: %w", err)
		}
		return row, ok && row.Type == tenancy.CredentialSMTP, nil
	})
}

// byKeyHash returns the api credential whose key hashes to hash (revoked ones included).
func (c credentials) byKeyHash(ctx context.Context, hash string) (tenancy.Credential, bool, error) {
	match := func(e *events.CredentialCreated) bool {
		return e.Type == tenancy.CredentialAPI && subtle.ConstantTimeCompare([]byte(e.Hash), []byte(hash)) == 1
	}
	return c.byKey(ctx, match, func() (tenancy.Credential, bool, error) {
		row, ok, err := c.index.CredentialByKeyHash(ctx, hash)
		if err != nil {
			return row, false, fmt.Errorf("credential by key: %w", err)
		}
		return row, ok && row.Type == tenancy.CredentialAPI, nil
	})
}

// byKey is the keyed lookup: the model's horizon, then its row (read after the horizon, so it
// reflects at least that much), then the credential's stream; without a row, the
// credential.created events past the horizon. Three statements whether or not the key exists,
// whatever the number of credentials (with the projector caught up).
func (c credentials) byKey(ctx context.Context, match func(*events.CredentialCreated) bool, row func() (tenancy.Credential, bool, error)) (tenancy.Credential, bool, error) {
	after, err := horizon(ctx, c.index)
	if err != nil {
		return tenancy.Credential{}, false, err
	}
	if c.index != nil {
		r, ok, err := row()
		if err != nil {
			return tenancy.Credential{}, false, err
		}
		if ok {
			return c.current(ctx, r.ID)
		}
	}
	recs, err := readFrom(ctx, c.store, domain.EventFilter{StreamType: events.StreamCredential, Types: []string{createdType}}, after)
	if err != nil {
		return tenancy.Credential{}, false, fmt.Errorf("credentials created lately: %w", err)
	}
	for _, r := range recs {
		var e events.CredentialCreated
		if json.Unmarshal(r.Envelope.Payload, &e) != nil || !match(&e) {
			continue
		}
		return c.current(ctx, r.Envelope.StreamID)
	}
	return tenancy.Credential{}, false, nil
}

// current reads a credential's own stream.
func (c credentials) current(ctx context.Context, id string) (tenancy.Credential, bool, error) {
	cred, err := c.tenancy.GetCredential(ctx, id)
	if err != nil {
		if isNotFound(err) { // the row names a stream that is gone: a model from another log
			return tenancy.Credential{}, false, nil
		}
		return tenancy.Credential{}, false, err
	}
	return cred, true, nil
}

// activeOfType returns the active credentials of a type: the model's rows with every credential
// event past its horizon folded over them (created ones added, updates and revocations applied).
func (c credentials) activeOfType(ctx context.Context, typ string) ([]tenancy.Credential, error) {
	var rows []tenancy.Credential
	// The horizon is read before the rows: rows read later reflect at least the horizon, and the
	// tail covers everything above it.
	after, err := horizon(ctx, c.index)
	if err != nil {
		return nil, err
	}
	if c.index != nil {
		if rows, err = c.index.ActiveCredentials(ctx, typ); err != nil {
			return nil, fmt.Errorf("active %s credentials: %w", typ, err)
		}
	}
	recs, err := readFrom(ctx, c.store, domain.EventFilter{StreamType: events.StreamCredential}, after)
	if err != nil {
		return nil, fmt.Errorf("credential events lately: %w", err)
	}
	byID := make(map[string]tenancy.Credential, len(rows))
	order := make([]string, 0, len(rows))
	for _, r := range rows {
		byID[r.ID] = r
		order = append(order, r.ID)
	}
	for _, r := range recs {
		id := r.Envelope.StreamID
		cur, seen := byID[id]
		next, err := tenancy.FoldCredential(cur, []events.Record{r})
		if err != nil {
			return nil, err
		}
		if !seen {
			order = append(order, id)
		}
		byID[id] = next
	}
	out := make([]tenancy.Credential, 0, len(order))
	for _, id := range order {
		cr := byID[id]
		if cr.Exists() && cr.Type == typ && !cr.Revoked {
			out = append(out, cr)
		}
	}
	return out, nil
}

// byClientIP returns the active smtp-ip credential with the most specific range holding ip.
func (c credentials) byClientIP(ctx context.Context, ip netip.Addr) (tenancy.Credential, bool, error) {
	cs, err := c.activeOfType(ctx, tenancy.CredentialSMTPIP)
	if err != nil {
		return tenancy.Credential{}, false, err
	}
	best, bits := tenancy.Credential{}, -1
	for _, cr := range cs {
		p, err := netip.ParsePrefix(cr.CIDR)
		if err != nil || !p.Contains(ip.Unmap()) {
			continue
		}
		if p.Bits() > bits {
			best, bits = cr, p.Bits()
		}
	}
	return best, bits >= 0, nil
}
