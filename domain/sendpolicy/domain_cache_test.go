package sendpolicy_test

import (
	"context"
	"testing"
	"time"

	"github.com/posthaste/posthaste/domain/sendpolicy"
)

type countingDomains struct {
	calls    int
	verified bool
}

func (c *countingDomains) IsVerifiedSenderDomain(context.Context, string, string) (bool, error) {
	c.calls++
	return c.verified, nil
}

// VerifiedDomains (moved with its test from adapters/httpapi, once httpapi.DomainCache).
func TestVerifiedDomainsKeepOnlyPositiveAnswersForTheirTTL(t *testing.T) {
	now := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	next := &countingDomains{}
	c := sendpolicy.NewVerifiedDomains(next, 10*time.Second, func() time.Time { return now })
	ctx := context.Background()
	if ok, _ := c.IsVerifiedSenderDomain(ctx, "acme/main", "example.org"); ok || next.calls != 1 {
		t.Fatal("unverified answer wrong")
	}
	next.verified = true
	if ok, _ := c.IsVerifiedSenderDomain(ctx, "acme/main", "example.org"); !ok || next.calls != 2 {
		t.Fatal("a negative answer was cached: a domain verified a moment ago must be seen at once")
	}
	next.verified = false
	if ok, _ := c.IsVerifiedSenderDomain(ctx, "acme/main", "example.org"); !ok || next.calls != 2 {
		t.Fatal("positive answer not cached")
	}
	if ok, _ := c.IsVerifiedSenderDomain(ctx, "acme/other", "example.org"); ok {
		t.Fatal("the cache leaked across servers")
	}
	now = now.Add(11 * time.Second)
	if ok, _ := c.IsVerifiedSenderDomain(ctx, "acme/main", "example.org"); ok {
		t.Fatal("positive answer outlived its TTL")
	}
}
