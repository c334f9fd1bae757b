// Package message owns the message aggregate: one stream per recipient, its state machine
// (queued → held/released → signed → attempted → delivered | deferred | bounced | expired)
// and the commands that move it. It decides which events follow from a command and the
// current state; apply is the only code that changes a Message.
//
// It imports events and the standard library only, and performs no I/O itself: command
// handlers take their ports (the event store) as arguments.
package message

import (
	"errors"
	"fmt"
	"time"

	"github.com/posthaste/posthaste/events"
)

// Status is where a message stands in its lifecycle.
type Status string

const (
	StatusQueued    Status = "queued"
	StatusHeld      Status = "held"
	StatusDeferred  Status = "deferred"
	StatusDelivered Status = "delivered"
	StatusBounced   Status = "bounced"
	StatusExpired   Status = "expired"
	StatusCancelled Status = "cancelled"
)

// Final reports whether no further delivery attempt can happen.
func (s Status) Final() bool {
	switch s {
	case StatusDelivered, StatusBounced, StatusExpired, StatusCancelled:
		return true
	}
	return false
}

// Errors of commands refused by the state machine.
var (
	ErrNotFound   = errors.New("message not found")
	ErrNotHeld    = errors.New("message is not held")
	ErrBadVersion = errors.New("message stream out of order")
)

// Message is the state of one recipient's message, rebuilt from its stream.
type Message struct {
	ID            string
	ServerID      string
	Version       int64
	Status        Status
	Queued        events.MessageQueued
	QueuedAt      time.Time
	Signed        bool
	Attempts      int
	NextAttemptAt time.Time // zero = due now (when queued) or not applicable
	HoldReason    string
	HoldExpires   time.Time
	Released      bool
	LastAttempt   *events.MessageAttempted
	Bounce        *events.MessageBounced
}

// Load rebuilds a message from its records, in version order.
func Load(recs []events.Record) (*Message, error) {
	if len(recs) == 0 {
		return nil, ErrNotFound
	}
	m := &Message{}
	for _, r := range recs {
		if err := m.apply(r.Envelope); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Apply folds one more event into the state (used by Load and after a command succeeded).
func (m *Message) Apply(env events.Envelope) error { return m.apply(env) }

func (m *Message) apply(env events.Envelope) error {
	if env.StreamVersion != m.Version+1 {
		return fmt.Errorf("%w: %s at version %d after %d", ErrBadVersion, env.StreamID, env.StreamVersion, m.Version)
	}
	ev, err := events.Decode(env)
	if err != nil {
		return err
	}
	switch e := ev.(type) {
	case *events.MessageQueued:
		m.ID, m.ServerID = env.StreamID, env.Server()
		m.Queued, m.QueuedAt, m.Status = *e, env.OccurredAt, StatusQueued
	case *events.MessageHeld:
		m.Status, m.HoldReason, m.HoldExpires = StatusHeld, e.Reason, e.Expires
	case *events.MessageReleased:
		m.Status, m.Released, m.HoldReason = StatusQueued, true, ""
		m.NextAttemptAt = time.Time{}
	case *events.MessageHoldCancelled:
		m.Status = StatusCancelled
	case *events.MessageSigned:
		m.Signed = true
	case *events.MessageAttempted:
		m.Attempts = e.Attempt
		a := *e
		m.LastAttempt = &a
	case *events.MessageDelivered:
		m.Status, m.NextAttemptAt = StatusDelivered, time.Time{}
	case *events.MessageDeferred:
		m.Status, m.NextAttemptAt = StatusDeferred, e.NextAttemptAt
		if e.Attempt > m.Attempts {
			m.Attempts = e.Attempt
		}
	case *events.MessageBounced:
		m.Status, m.NextAttemptAt = StatusBounced, time.Time{}
		b := *e
		m.Bounce = &b
	case *events.MessageExpired:
		m.Status, m.NextAttemptAt = StatusExpired, time.Time{}
	default:
		// opened, clicked, complained, unsubscribed: facts about the recipient's reaction,
		// which do not move the delivery state.
	}
	m.Version = env.StreamVersion
	return nil
}

// Deliverable reports whether a delivery attempt may run at now.
func (m *Message) Deliverable(now time.Time) bool {
	switch m.Status {
	case StatusQueued:
		return true
	case StatusDeferred:
		return !now.Before(m.NextAttemptAt)
	}
	return false
}
