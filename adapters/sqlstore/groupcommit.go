package sqlstore

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/submission"
	"github.com/posthaste/posthaste/events"
)

// row is one envelope ready to insert: the stored bytes and the columns copied from it.
type row struct {
	env  events.Envelope
	data []byte
}

// transcript is an attempt's SMTP transcript, written with the attempt's events.
type transcript struct {
	id, messageID string
	attempt       int
	text          string
}

// request is one caller's write waiting for a group commit: events with their outbox rows,
// and with them an acceptance's body and Postal ids, or an attempt's transcript.
type request struct {
	op         string // "append" or "accept", for errors
	ctx        context.Context
	rows       []row
	accept     *submission.Acceptance // body and Postal ids; nil for appends
	transcript *transcript            // nil but for AppendWithTranscript
	size       int                    // stored bytes: events, body and transcript
	err        error
	done       chan struct{}
}

// lanePlan is one group-commit queue: how many transactions its committers run at once and
// when a group stops taking more waiting requests (a bound of 0 does not apply).
type lanePlan struct {
	committers  int
	waiting     int // requests that may wait in the queue
	maxEvents   int
	maxRequests int
	maxBytes    int
}

// room reports whether a group of n requests, events and size bytes may take another.
func (p lanePlan) room(n, events, size int) bool {
	return (p.maxEvents == 0 || events < p.maxEvents) &&
		(p.maxRequests == 0 || n < p.maxRequests) &&
		(p.maxBytes == 0 || size < p.maxBytes)
}

type lane struct {
	lanePlan
	queue chan *request
}

func (s *Store) startLane(p lanePlan) *lane {
	l := &lane{lanePlan: p, queue: make(chan *request, p.waiting)}
	for range p.committers {
		s.wg.Add(1)
		go s.committer(l)
	}
	return l
}

// encode validates and marshals envelopes; a (stream, version) repeated inside one call is a
// conflict found before anything is written.
func encode(op string, envs []events.Envelope) ([]row, int, error) {
	type key struct {
		typ, id string
		version int64
	}
	rows := make([]row, len(envs))
	seen := make(map[key]bool, len(envs))
	size := 0
	for i, env := range envs {
		if err := env.Validate(); err != nil {
			return nil, 0, fmt.Errorf("sqlstore: %s: %w", op, err)
		}
		k := key{env.StreamType, env.StreamID, env.StreamVersion}
		if seen[k] {
			return nil, 0, &domain.ConflictError{StreamType: k.typ, StreamID: k.id, StreamVersion: k.version}
		}
		seen[k] = true
		b, err := events.Marshal(env)
		if err != nil {
			return nil, 0, fmt.Errorf("sqlstore: %s: encode %s: %w", op, env.ID, err)
		}
		rows[i] = row{env: env, data: b}
		size += len(b)
	}
	return rows, size, nil
}

// submit queues req on l and waits for its group commit.
func (s *Store) submit(l *lane, req *request) error {
	req.done = make(chan struct{})
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrClosed
	}
	select {
	case l.queue <- req:
		s.mu.RUnlock()
	case <-req.ctx.Done():
		s.mu.RUnlock()
		return fmt.Errorf("sqlstore: %s: %w", req.op, req.ctx.Err())
	}
	// Once queued the request is always answered; returning early would hide whether it committed.
	<-req.done
	return req.err
}

// committer takes queued requests, groups those waiting into one transaction and answers each.
func (s *Store) committer(l *lane) {
	defer s.wg.Done()
	for {
		var first *request
		select {
		case first = <-l.queue:
		case <-s.done:
			// Close waits for in-flight sends, so whatever is queued now is all there is.
			for {
				select {
				case r := <-l.queue:
					s.commitGroup([]*request{r})
				default:
					return
				}
			}
		}
		group := []*request{first}
		n, size := len(first.rows), first.size
	fill:
		for l.room(len(group), n, size) {
			select {
			case r := <-l.queue:
				group = append(group, r)
				n += len(r.rows)
				size += r.size
			default:
				break fill
			}
		}
		s.commitGroup(group)
	}
}

// commitGroup writes the live requests of a group and answers every request, even on panic.
func (s *Store) commitGroup(group []*request) {
	answered := false
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("sqlstore: group commit panicked", "panic", p, "stack", string(debug.Stack()))
			if !answered {
				for _, r := range group {
					r.err = fmt.Errorf("sqlstore: %s: internal error: %v", r.op, p)
					close(r.done)
				}
			}
		}
	}()
	live := group[:0:0]
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.err = fmt.Errorf("sqlstore: %s: %w", r.op, err)
			continue
		}
		live = append(live, r)
	}
	if len(live) > 0 {
		s.groups.Add(1)
		s.d.writeGroup(s, live)
	}
	answered = true
	for _, r := range group {
		close(r.done)
	}
}
