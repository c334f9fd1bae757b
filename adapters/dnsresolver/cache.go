package dnsresolver

import (
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Cache bounds (WithCache).
const (
	MaxCacheTTL      = 10 * time.Minute
	NegativeCacheTTL = 30 * time.Second
	maxCacheEntries  = 10000
)

// cache keeps answers until they expire. When it is full, expired entries go; if none has
// expired, everything goes (a burst of distinct names must not grow it without bound).
type cache struct {
	mu      sync.Mutex
	entries map[string]cached
}

type cached struct {
	a       answer
	expires time.Time
}

func newCache() *cache { return &cache{entries: map[string]cached{}} }

func cacheKey(name string, qtype uint16) string {
	return strings.ToLower(dns.Fqdn(name)) + " " + dns.TypeToString[qtype]
}

func (c *cache) get(key string, now time.Time) (answer, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || !now.Before(e.expires) {
		return answer{}, false
	}
	return e.a, true
}

// put keeps a for the smallest TTL of its records (at most MaxCacheTTL), or for
// NegativeCacheTTL when it has none (NXDOMAIN, NODATA); a TTL of 0 is not kept.
func (c *cache) put(key string, a answer, now time.Time) {
	ttl := MaxCacheTTL
	for _, rr := range a.rrs {
		ttl = min(ttl, time.Duration(rr.Header().Ttl)*time.Second)
	}
	if len(a.rrs) == 0 {
		ttl = NegativeCacheTTL
	}
	if ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxCacheEntries {
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= maxCacheEntries {
			c.entries = map[string]cached{}
		}
	}
	c.entries[key] = cached{a: a, expires: now.Add(ttl)}
}
