package memory

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/posthaste/posthaste/domain"
)

// Locker is the in-process domain.Locker: each lock name has at most one holder in this
// process, and a lease lasts until Release or the end of the ctx given to TryLock (there is no
// other process to take over, so it never expires on its own).
type Locker struct {
	mu   sync.Mutex
	held map[string]*lease
}

// NewLocker returns a locker with no lock held.
func NewLocker() *Locker { return &Locker{held: map[string]*lease{}} }

var _ domain.Locker = (*Locker)(nil)

type lease struct {
	l    *Locker
	name string
	once sync.Once
	lost chan struct{}
	stop func() bool
}

// TryLock grants name when no other lease of this locker holds it.
func (l *Locker) TryLock(ctx context.Context, name string, ttl time.Duration) (domain.Lease, bool, error) {
	if name == "" {
		return nil, false, errors.New("memory: lock: empty name")
	}
	if ttl <= 0 {
		return nil, false, fmt.Errorf("memory: lock %s: ttl %v <= 0", name, ttl)
	}
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("memory: lock %s: %w", name, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.held[name]; ok {
		return nil, false, nil
	}
	ls := &lease{l: l, name: name, lost: make(chan struct{})}
	l.held[name] = ls
	ls.stop = context.AfterFunc(ctx, ls.end)
	return ls, true, nil
}

func (ls *lease) end() {
	ls.once.Do(func() {
		ls.l.mu.Lock()
		if ls.l.held[ls.name] == ls {
			delete(ls.l.held, ls.name)
		}
		ls.l.mu.Unlock()
		close(ls.lost)
	})
}

// Lost is closed when the lease ends: Release, or the TryLock ctx ended.
func (ls *lease) Lost() <-chan struct{} { return ls.lost }

// Release frees the lock; releasing twice is harmless.
func (ls *lease) Release(context.Context) error {
	ls.stop()
	ls.end()
	return nil
}
