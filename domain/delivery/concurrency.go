package delivery

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// DefaultDestinationConcurrency is how many simultaneous SMTP sessions one destination
// (an MX host or smart host) gets unless configured otherwise.
const DefaultDestinationConcurrency = 10

// ConcurrencyPolicy says how many sessions may run at once to one destination. Keys of
// PerDestination are destination names compared case-insensitively (an MX host, a smart host
// "host:port", or a recipient domain, whatever key the caller uses consistently).
type ConcurrencyPolicy struct {
	Default        int
	PerDestination map[string]int
}

// Limit returns the limit of a destination (at least 1).
func (p ConcurrencyPolicy) Limit(dest string) int {
	if n, ok := p.PerDestination[strings.ToLower(dest)]; ok && n > 0 {
		return n
	}
	if p.Default > 0 {
		return p.Default
	}
	return DefaultDestinationConcurrency
}

// Limiter enforces a ConcurrencyPolicy within one process: Acquire blocks while the
// destination has as many holders as its limit. It is safe for concurrent use. (A limit
// across several nodes is each node's limit times the node count.)
type Limiter struct {
	policy ConcurrencyPolicy
	mu     sync.Mutex
	slots  map[string]chan struct{}
}

// NewLimiter returns a limiter for the policy.
func NewLimiter(p ConcurrencyPolicy) *Limiter {
	cp := ConcurrencyPolicy{Default: p.Default, PerDestination: map[string]int{}}
	for k, v := range p.PerDestination {
		cp.PerDestination[strings.ToLower(k)] = v
	}
	return &Limiter{policy: cp, slots: map[string]chan struct{}{}}
}

// ErrLimiterWait wraps the context error when Acquire gave up waiting.
var ErrLimiterWait = errors.New("waiting for a destination slot")

// Acquire takes one slot of dest, waiting until one is free or ctx ends. The returned release
// function gives it back; calling it more than once is harmless.
func (l *Limiter) Acquire(ctx context.Context, dest string) (release func(), err error) {
	key := strings.ToLower(dest)
	l.mu.Lock()
	ch, ok := l.slots[key]
	if !ok {
		ch = make(chan struct{}, l.policy.Limit(key))
		l.slots[key] = ch
	}
	l.mu.Unlock()
	select {
	case ch <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("delivery: %w to %s: %w", ErrLimiterWait, dest, ctx.Err())
	}
	var once sync.Once
	return func() { once.Do(func() { <-ch }) }, nil
}

// InUse returns how many slots of dest are held now.
func (l *Limiter) InUse(dest string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ch, ok := l.slots[strings.ToLower(dest)]; ok {
		return len(ch)
	}
	return 0
}
