package httpapi

import (
	"context"
	"sync"
	"time"

	"github.com/posthaste/posthaste/domain/submission"
)

// DomainCache remembers "domain D is a verified sender domain of server S" for TTL, so a busy
// API does not fold the domain's stream for every send. Only positive answers are kept: a
// domain verified a moment ago is seen at once; one removed from a server or unverified is
// still accepted for at most TTL.
type DomainCache struct {
	next  submission.Domains
	ttl   time.Duration
	clock func() time.Time
	mu    sync.Mutex
	until map[[2]string]time.Time
}

// NewDomainCache wraps next; clock nil means time.Now.
func NewDomainCache(next submission.Domains, ttl time.Duration, clock func() time.Time) *DomainCache {
	if clock == nil {
		clock = time.Now
	}
	return &DomainCache{next: next, ttl: ttl, clock: clock, until: map[[2]string]time.Time{}}
}

// IsVerifiedSenderDomain implements submission.Domains.
func (c *DomainCache) IsVerifiedSenderDomain(ctx context.Context, serverID, domain string) (bool, error) {
	k := [2]string{serverID, domain}
	now := c.clock()
	c.mu.Lock()
	u, ok := c.until[k]
	c.mu.Unlock()
	if ok && now.Before(u) {
		return true, nil
	}
	v, err := c.next.IsVerifiedSenderDomain(ctx, serverID, domain)
	if err != nil || !v {
		return v, err
	}
	c.mu.Lock()
	if len(c.until) > 100_000 { // bound memory: start over
		c.until = map[[2]string]time.Time{}
	}
	c.until[k] = now.Add(c.ttl)
	c.mu.Unlock()
	return true, nil
}
