package message

import (
	"context"
	"fmt"
	"time"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/events"
)

// HoldLifetime is how long a held message waits for an operator before its hold is cancelled.
const HoldLifetime = 7 * 24 * time.Hour

// Handler runs operator and system commands on message streams. It reads the stream, decides,
// and appends with the next version: a concurrent writer makes the append fail with
// domain.ErrConflict and the command is retried on fresh state (bounded).
type Handler struct {
	store domain.EventStore
	rec   domain.Recorder
}

// NewHandler refuses a nil store.
func NewHandler(store domain.EventStore, rec domain.Recorder) (*Handler, error) {
	if store == nil {
		return nil, fmt.Errorf("message: nil event store")
	}
	return &Handler{store: store, rec: rec}, nil
}

// Get rebuilds a message from its stream (read-your-writes, no projection involved).
func (h *Handler) Get(ctx context.Context, id string) (*Message, error) {
	recs, err := h.store.ReadStream(ctx, events.StreamMessage, id, 1)
	if err != nil {
		return nil, fmt.Errorf("message: read %s: %w", id, err)
	}
	m, err := Load(recs)
	if err != nil {
		return nil, fmt.Errorf("message %s: %w", id, err)
	}
	return m, nil
}

// Release lets a held message go to delivery.
func (h *Handler) Release(ctx context.Context, id string, c domain.Cause) error {
	return h.decide(ctx, id, c, func(m *Message) ([]events.Event, error) {
		if m.Status != StatusHeld {
			return nil, fmt.Errorf("%w (status %s)", ErrNotHeld, m.Status)
		}
		return []events.Event{events.MessageReleased{By: c.Actor.String()}}, nil
	})
}

// CancelHold drops a held message without delivering it.
func (h *Handler) CancelHold(ctx context.Context, id string, c domain.Cause) error {
	return h.decide(ctx, id, c, func(m *Message) ([]events.Event, error) {
		if m.Status != StatusHeld {
			return nil, fmt.Errorf("%w (status %s)", ErrNotHeld, m.Status)
		}
		return []events.Event{events.MessageHoldCancelled{Reason: "operator"}}, nil
	})
}

// ExpireHold cancels a hold older than HoldLifetime; a no-op for anything else.
func (h *Handler) ExpireHold(ctx context.Context, id string, c domain.Cause) error {
	now := h.rec.Now()
	return h.decide(ctx, id, c, func(m *Message) ([]events.Event, error) {
		if m.Status != StatusHeld || now.Before(m.HoldExpires) {
			return nil, nil
		}
		return []events.Event{events.MessageHoldCancelled{Reason: "expired"}}, nil
	})
}

const maxConflictRetries = 5

// decide applies fn to the current state and appends what it returns, retrying on conflict.
func (h *Handler) decide(ctx context.Context, id string, c domain.Cause, fn func(*Message) ([]events.Event, error)) error {
	for try := 0; ; try++ {
		m, err := h.Get(ctx, id)
		if err != nil {
			return err
		}
		evs, err := fn(m)
		if err != nil || len(evs) == 0 {
			return err
		}
		envs, err := h.rec.Envelopes(events.StreamMessage, id, m.ServerID, m.Version, c, evs...)
		if err != nil {
			return err
		}
		err = h.store.Append(ctx, envs...)
		if err == nil || !domain.IsConflict(err) || try >= maxConflictRetries {
			return err
		}
	}
}
