package message_test

import (
	"errors"
	"testing"
	"time"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/message"
	"github.com/posthaste/posthaste/events"
)

var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

func history(t *testing.T, evs ...events.Event) []events.Record {
	t.Helper()
	rec := domain.Recorder{Clock: func() time.Time { return t0 }}
	envs, err := rec.Envelopes(events.StreamMessage, "m1", "srv1", 0, domain.Cause{Actor: events.Actor{Type: events.ActorSMTP, ID: "cred1"}}, evs...)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]events.Record, len(envs))
	for i, e := range envs {
		out[i] = events.Record{Envelope: e}
	}
	return out
}

func TestLifecycleStates(t *testing.T) {
	queued := events.MessageQueued{RcptTo: "a@example.com", MailFrom: "s@example.org"}
	next := t0.Add(5 * time.Minute)
	cases := []struct {
		name        string
		evs         []events.Event
		status      message.Status
		deliverable bool // at t0 + 1 minute
	}{
		{"queued", []events.Event{queued}, message.StatusQueued, true},
		{"held", []events.Event{queued, events.MessageHeld{Reason: events.HoldDevelopmentMode}}, message.StatusHeld, false},
		{"released", []events.Event{queued, events.MessageHeld{Reason: events.HoldCredential}, events.MessageReleased{}}, message.StatusQueued, true},
		{"deferred not yet due", []events.Event{queued, events.MessageAttempted{Attempt: 1}, events.MessageDeferred{Attempt: 1, NextAttemptAt: next}}, message.StatusDeferred, false},
		{"delivered", []events.Event{queued, events.MessageSigned{}, events.MessageAttempted{Attempt: 1}, events.MessageDelivered{}}, message.StatusDelivered, false},
		{"bounced", []events.Event{queued, events.MessageAttempted{Attempt: 1}, events.MessageBounced{Reason: "userunknown", Class: "hard"}}, message.StatusBounced, false},
		{"hold cancelled", []events.Event{queued, events.MessageHeld{}, events.MessageHoldCancelled{Reason: "operator"}}, message.StatusCancelled, false},
		{"opened keeps delivered", []events.Event{queued, events.MessageDelivered{}, events.MessageOpened{}}, message.StatusDelivered, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := message.Load(history(t, c.evs...))
			if err != nil {
				t.Fatal(err)
			}
			if m.Status != c.status {
				t.Errorf("status %s, want %s", m.Status, c.status)
			}
			if got := m.Deliverable(t0.Add(time.Minute)); got != c.deliverable {
				t.Errorf("deliverable %v, want %v", got, c.deliverable)
			}
			if m.ServerID != "srv1" || m.Queued.RcptTo != "a@example.com" {
				t.Errorf("queued facts lost: %+v", m)
			}
		})
	}
	m, _ := message.Load(history(t, queued, events.MessageAttempted{Attempt: 1}, events.MessageDeferred{Attempt: 1, NextAttemptAt: next}))
	if !m.Deliverable(next) {
		t.Error("deferred message not deliverable at its next attempt time")
	}
}

func TestLoadRefusesGapsAndEmptyStreams(t *testing.T) {
	if _, err := message.Load(nil); !errors.Is(err, message.ErrNotFound) {
		t.Fatalf("empty stream: %v", err)
	}
	h := history(t, events.MessageQueued{}, events.MessageDelivered{})
	if _, err := message.Load(h[1:]); !errors.Is(err, message.ErrBadVersion) {
		t.Fatalf("gap: %v", err)
	}
}
