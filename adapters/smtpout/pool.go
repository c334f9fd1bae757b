package smtpout

import (
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// pool keeps idle sessions per destination address for reuse. A reaper goroutine closes
// sessions idle longer than the timeout.
type pool struct {
	timeout time.Duration
	maxIdle int
	now     func() time.Time
	log     *slog.Logger

	mu     sync.Mutex
	idle   map[string][]*session // newest last
	closed bool
	stop   chan struct{}
	done   chan struct{}
}

func newPool(timeout time.Duration, maxIdle int, now func() time.Time, log *slog.Logger) *pool {
	p := &pool{timeout: timeout, maxIdle: maxIdle, now: now, log: log, idle: map[string][]*session{},
		stop: make(chan struct{}), done: make(chan struct{})}
	if timeout > 0 {
		go p.reap()
	} else {
		close(p.done)
	}
	return p
}

// get takes the most recently used live session of key, or returns nil.
func (p *pool) get(key string) *session {
	p.mu.Lock()
	defer p.mu.Unlock()
	list := p.idle[key]
	for len(list) > 0 {
		s := list[len(list)-1]
		list = list[:len(list)-1]
		if p.now().Sub(s.idle) < p.timeout {
			p.idle[key] = list
			return s
		}
		go s.quit()
	}
	delete(p.idle, key)
	return nil
}

// put returns a session to the pool, closing the oldest one beyond maxIdle.
func (p *pool) put(key string, s *session) {
	s.cl.DebugWriter = nil
	s.idle = p.now()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		s.quit()
		return
	}
	list := append(p.idle[key], s)
	var drop *session
	if len(list) > p.maxIdle {
		drop, list = list[0], list[1:]
	}
	p.idle[key] = list
	p.mu.Unlock()
	if drop != nil {
		drop.quit()
	}
}

func (p *pool) size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, l := range p.idle {
		n += len(l)
	}
	return n
}

// expired removes and returns the sessions idle for timeout or longer (all when force).
func (p *pool) expired(force bool) []*session {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*session
	now := p.now()
	for k, list := range p.idle {
		keep := list[:0]
		for _, s := range list {
			if force || now.Sub(s.idle) >= p.timeout {
				out = append(out, s)
			} else {
				keep = append(keep, s)
			}
		}
		if len(keep) == 0 {
			delete(p.idle, k)
		} else {
			p.idle[k] = keep
		}
	}
	return out
}

func (p *pool) reap() {
	defer close(p.done)
	defer func() {
		if r := recover(); r != nil {
			p.log.Error("smtpout: connection reaper panicked", "error", fmt.Sprint(r))
		}
	}()
	tick := time.NewTicker(max(p.timeout/4, 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-tick.C:
			for _, s := range p.expired(false) {
				s.quit()
			}
		}
	}
}

func (p *pool) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.mu.Unlock()
	close(p.stop)
	<-p.done
	for _, s := range p.expired(true) {
		s.quit()
	}
}
