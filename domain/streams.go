package domain

import (
	"io"
	"time"

	"github.com/posthaste/posthaste/events"
)

// Recorder stamps new events with ids, times, actor and causality. Inject Clock and Rand in
// tests to pin ids and times.
type Recorder struct {
	Clock Clock
	Rand  io.Reader // nil = crypto/rand
}

// Cause is the who and why of a command: recorded in every event it produces.
type Cause struct {
	Actor         events.Actor
	CorrelationID string
	CausationID   string
}

// Envelopes wraps evs as the next versions of a stream that is at version `at` (0 = new).
func (r Recorder) Envelopes(streamType, streamID, serverID string, at int64, c Cause, evs ...events.Event) ([]events.Envelope, error) {
	now := time.Now
	if r.Clock != nil {
		now = r.Clock
	}
	out := make([]events.Envelope, 0, len(evs))
	for i, ev := range evs {
		t := now()
		env, err := events.New(ev, events.Meta{
			ID:            events.NewID(t, r.Rand),
			StreamType:    streamType,
			StreamID:      streamID,
			StreamVersion: at + int64(i) + 1,
			ServerID:      serverID,
			OccurredAt:    t,
			Actor:         c.Actor,
			CorrelationID: c.CorrelationID,
			CausationID:   c.CausationID,
		})
		if err != nil {
			return nil, err
		}
		out = append(out, env)
	}
	return out, nil
}

// Now returns the recorder's current time.
func (r Recorder) Now() time.Time {
	if r.Clock != nil {
		return r.Clock()
	}
	return time.Now()
}
