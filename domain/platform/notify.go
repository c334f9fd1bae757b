package platform

import (
	"context"
	"sync"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/delivery"
	"github.com/posthaste/posthaste/domain/submission"
	"github.com/posthaste/posthaste/events"
)

// The one wake path. Every append and acceptance of this process goes through the application's
// event store and acceptor, which tell the hub; the hub tells its subscribers:
//   - accepted: the ids of messages that became due for delivery (accepted and not held, or
//     released by an operator), whatever the edge: the local delivery workers are offered them
//     (delivery.Worker.Offer) so delivery starts without waiting for the queue projection;
//   - appended: something was written to the outbox: the in-process relay wakes (relay.Config.Notify).
//
// Notifications never block and may be coalesced; they are hints (the queue and the relay's poll
// are the guarantee).

type hub struct {
	mu       sync.RWMutex
	accepted []func(messageIDs []string)
	appended []func()
}

func (h *hub) onAccepted(fn func([]string)) {
	h.mu.Lock()
	h.accepted = append(h.accepted, fn)
	h.mu.Unlock()
}

func (h *hub) onAppended(fn func()) {
	h.mu.Lock()
	h.appended = append(h.appended, fn)
	h.mu.Unlock()
}

func (h *hub) notifyAccepted(ids []string) {
	if len(ids) == 0 {
		return
	}
	h.mu.RLock()
	fns := h.accepted
	h.mu.RUnlock()
	for _, fn := range fns {
		fn(ids)
	}
}

func (h *hub) notifyAppended() {
	h.mu.RLock()
	fns := h.appended
	h.mu.RUnlock()
	for _, fn := range fns {
		fn()
	}
}

// wakeChannel returns a channel that receives (coalesced) appended notifications.
func (h *hub) wakeChannel() <-chan struct{} {
	ch := make(chan struct{}, 1)
	h.onAppended(func() {
		select {
		case ch <- struct{}{}:
		default: // a wake-up is already pending
		}
	})
	return ch
}

// notifyingStore tells the hub after every successful append.
type notifyingStore struct {
	domain.EventStore
	hub *hub
}

func (s notifyingStore) Append(ctx context.Context, envs ...events.Envelope) error {
	err := s.EventStore.Append(ctx, envs...)
	if err == nil {
		s.hub.notifyAppended()
	}
	return err
}

// notifyingAcceptor tells the hub after every acceptance: appended, and the messages accepted
// without a hold.
type notifyingAcceptor struct {
	submission.Acceptor
	hub *hub
}

func (a notifyingAcceptor) Accept(ctx context.Context, acc submission.Acceptance) error {
	err := a.Acceptor.Accept(ctx, acc)
	if err == nil {
		a.hub.notifyAppended()
		a.hub.notifyAccepted(dueOf(acc.Events))
	}
	return err
}

// dueOf returns the message ids of the queued envelopes that are not also held, in order.
func dueOf(envs []events.Envelope) []string {
	queued, held := (events.MessageQueued{}).EventType(), (events.MessageHeld{}).EventType()
	heldIDs := map[string]bool{}
	for _, e := range envs {
		if e.Type == held {
			heldIDs[e.StreamID] = true
		}
	}
	var out []string
	for _, e := range envs {
		if e.Type == queued && !heldIDs[e.StreamID] {
			out = append(out, e.StreamID)
		}
	}
	return out
}

// notifyingTranscripts keeps the transcript store's methods; notifyingRecorder adds
// delivery.AttemptRecorder when the store has it, telling the hub after each recorded attempt.
type notifyingTranscripts struct {
	Transcripts
}

type notifyingRecorder struct {
	notifyingTranscripts
	rec delivery.AttemptRecorder
	hub *hub
}

func (r notifyingRecorder) AppendWithTranscript(ctx context.Context, messageID string, attempt int, text string, envs ...events.Envelope) error {
	err := r.rec.AppendWithTranscript(ctx, messageID, attempt, text, envs...)
	if err == nil {
		r.hub.notifyAppended()
	}
	return err
}

func wrapTranscripts(t Transcripts, h *hub) Transcripts {
	if rec, ok := t.(delivery.AttemptRecorder); ok {
		return notifyingRecorder{notifyingTranscripts: notifyingTranscripts{t}, rec: rec, hub: h}
	}
	return notifyingTranscripts{t}
}
