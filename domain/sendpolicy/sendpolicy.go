// Package sendpolicy answers the submission side's questions from the tenancy model: whether a
// From domain is a verified domain of the credential's server, and whether a recipient's message
// must be held (development-mode server, suppressed recipient, send limit reached). It implements
// the ports of domain/submission with domain/tenancy and domain/suppression. Who is submitting
// (SMTP AUTH, SMTP-IP and API credentials) is domain/platform's keyed credential lookup.
//
// It imports domain packages, events and the standard library only.
package sendpolicy

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/suppression"
	"github.com/posthaste/posthaste/domain/tenancy"
	"github.com/posthaste/posthaste/events"
)

// Counter counts submissions per key in fixed windows (send limits).
//
// Contract: Incr adds n to key's count in the window that contains now and returns the sum
// of the current and previous windows weighted by overlap (a rolling-window estimate). Counts
// may be lost (Redis keeps nothing on disk): a lost count lets mail through, never holds it.
type Counter interface {
	Incr(ctx context.Context, key string, n int64, window time.Duration) (int64, error)
}

// Policy implements submission.Domains and submission.HoldPolicy.
type Policy struct {
	tenancy      *tenancy.Handlers
	suppressions *suppression.Handler
	counter      Counter // nil = send limits are not enforced
	store        domain.EventStore
	rec          domain.Recorder

	serverTTL time.Duration
	serverMu  sync.Mutex
	servers   map[string]cachedServer
}

type cachedServer struct {
	srv   tenancy.Server
	until time.Time
}

// ServerCacheTTL is how long HoldReason trusts a server's mode and send limit without folding
// its stream again (the stream grows with every send-limit notification). A change of mode or
// limit reaches acceptance within it. Suppressions are never cached: an address suppressed a
// moment ago is held at once.
const ServerCacheTTL = 5 * time.Second

// New refuses missing parts; counter may be nil. Servers are cached for ServerCacheTTL.
func New(t *tenancy.Handlers, s *suppression.Handler, c Counter, store domain.EventStore, rec domain.Recorder) (*Policy, error) {
	if t == nil || s == nil || store == nil {
		return nil, errors.New("sendpolicy: tenancy, suppressions and store are required")
	}
	return &Policy{tenancy: t, suppressions: s, counter: c, store: store, rec: rec,
		serverTTL: ServerCacheTTL, servers: map[string]cachedServer{}}, nil
}

// SetServerCacheTTL changes how long servers are cached (0: read the stream every time).
// Call it before use.
func (a *Policy) SetServerCacheTTL(d time.Duration) { a.serverTTL = d }

// IsVerifiedSenderDomain reports whether domain belongs to the server and was verified.
func (a *Policy) IsVerifiedSenderDomain(ctx context.Context, serverID, domainName string) (bool, error) {
	d, err := a.tenancy.GetDomain(ctx, domainName)
	if errors.Is(err, tenancy.ErrNotFound) || errors.Is(err, tenancy.ErrInvalid) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return d.ServerID == serverID && d.Verified, nil
}

// HoldReason says why a new message of the server to rcpt must be held ("" = deliver).
// count is how many recipients the submission has, charged to the send limit once.
func (a *Policy) HoldReason(ctx context.Context, serverID, rcpt string) (string, string, error) {
	srv, err := a.server(ctx, serverID)
	if err != nil {
		return "", "", err
	}
	if srv.Mode == "development" {
		return events.HoldDevelopmentMode, "the server is in development mode", nil
	}
	sup, err := a.suppressions.Get(ctx, serverID, rcpt)
	if err != nil {
		return "", "", err
	}
	if sup.ActiveAt(a.rec.Now()) {
		return events.HoldSuppressed, "the recipient is suppressed (" + sup.Reason + ")", nil
	}
	if srv.SendLimitPerHour > 0 && a.counter != nil {
		n, err := a.counter.Incr(ctx, "send:"+serverID, 1, time.Hour)
		if err != nil {
			return "", "", nil // a counter outage lets mail through (see Counter)
		}
		limit := int64(srv.SendLimitPerHour)
		switch {
		case n > limit:
			if n == limit+1 {
				a.recordLimit(ctx, srv, events.ServerSendLimitExceeded{Count: int(n), Limit: int(limit)})
			}
			return events.HoldSendLimit, fmt.Sprintf("the server's send limit of %d per hour is reached", limit), nil
		case n == limit*9/10:
			a.recordLimit(ctx, srv, events.ServerSendLimitApproaching{Count: int(n), Limit: int(limit)})
		}
	}
	return "", "", nil
}

// server returns the server, from the cache when it was read less than serverTTL ago.
func (a *Policy) server(ctx context.Context, serverID string) (tenancy.Server, error) {
	now := a.rec.Now()
	if a.serverTTL > 0 {
		a.serverMu.Lock()
		c, ok := a.servers[serverID]
		a.serverMu.Unlock()
		if ok && now.Before(c.until) {
			return c.srv, nil
		}
	}
	ref, err := tenancy.ParseServerRef(serverID)
	if err != nil {
		return tenancy.Server{}, err
	}
	srv, err := a.tenancy.GetServer(ctx, ref)
	if err != nil || a.serverTTL <= 0 {
		return srv, err
	}
	a.serverMu.Lock()
	if len(a.servers) > 10_000 { // bound memory: start over
		a.servers = map[string]cachedServer{}
	}
	a.servers[serverID] = cachedServer{srv: srv, until: now.Add(a.serverTTL)}
	a.serverMu.Unlock()
	return srv, nil
}

// recordLimit appends a send-limit event to the server stream; a lost race is retried once
// and otherwise dropped (the event is a notification, the hold itself does not depend on it).
func (a *Policy) recordLimit(ctx context.Context, srv tenancy.Server, ev events.Event) {
	for try := 0; try < 3; try++ {
		recs, err := a.store.ReadStream(ctx, events.StreamServer, srv.ID, 1)
		if err != nil || len(recs) == 0 {
			return
		}
		at := recs[len(recs)-1].Envelope.StreamVersion
		envs, err := a.rec.Envelopes(events.StreamServer, srv.ID, srv.ID, at,
			domain.Cause{Actor: events.Actor{Type: events.ActorSystem, ID: "send-limit"}}, ev)
		if err != nil {
			return
		}
		if err := a.store.Append(ctx, envs...); err == nil || !domain.IsConflict(err) {
			return
		}
	}
}
