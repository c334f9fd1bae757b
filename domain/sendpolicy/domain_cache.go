package sendpolicy

import (
	"context"
	"sync"
	"time"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/submission"
)

// VerifiedDomainTTL is how long a "verified sender domain" answer is kept by VerifiedDomains.
const VerifiedDomainTTL = 10 * time.Second

// VerifiedDomains remembers "domain D is a verified sender domain of server S" (submission.Domains)
// for a TTL, so a busy submission path does not fold the domain's stream for every message. Only
// positive answers are kept: a domain verified a moment ago is seen at once. A domain never
// leaves its server and is never unverified, so a kept answer stays true.
type VerifiedDomains struct {
	next  submission.Domains
	ttl   time.Duration
	clock domain.Clock
	mu    sync.Mutex
	until map[[2]string]time.Time
}

// maxVerifiedDomains bounds the memory of VerifiedDomains; beyond it the cache starts over.
const maxVerifiedDomains = 100_000

// NewVerifiedDomains wraps next; a zero ttl asks next every time, a nil clock is time.Now.
func NewVerifiedDomains(next submission.Domains, ttl time.Duration, clock domain.Clock) *VerifiedDomains {
	if clock == nil {
		clock = time.Now
	}
	return &VerifiedDomains{next: next, ttl: ttl, clock: clock, until: map[[2]string]time.Time{}}
}

// IsVerifiedSenderDomain implements submission.Domains.
func (c *VerifiedDomains) IsVerifiedSenderDomain(ctx context.Context, serverID, domainName string) (bool, error) {
	k := [2]string{serverID, domainName}
	now := c.clock()
	c.mu.Lock()
	u, ok := c.until[k]
	c.mu.Unlock()
	if ok && now.Before(u) {
		return true, nil
	}
	v, err := c.next.IsVerifiedSenderDomain(ctx, serverID, domainName)
	if err != nil || !v || c.ttl <= 0 {
		return v, err
	}
	c.mu.Lock()
	if len(c.until) >= maxVerifiedDomains {
		c.until = map[[2]string]time.Time{}
	}
	c.until[k] = now.Add(c.ttl)
	c.mu.Unlock()
	return true, nil
}
