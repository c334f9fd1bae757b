// Package suppression owns the per-server suppression list: addresses a server must not mail,
// with the reason, the event that caused the entry and an optional expiry. One stream per
// (server, address): stream id "<server id>|<lowercase address>".
//
// It imports domain, events and the standard library only.
package suppression

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/events"
)

// Reasons of an entry.
const (
	ReasonHardBounce  = "hard_bounce"
	ReasonComplaint   = "complaint"
	ReasonManual      = "manual"
	ReasonUnsubscribe = "unsubscribe"
)

// Errors of refused commands.
var (
	ErrNotSuppressed = errors.New("address is not suppressed")
	ErrBadAddress    = errors.New("not an email address")
)

// Entry is one suppressed address.
type Entry struct {
	ServerID  string
	Address   string
	Reason    string
	CausedBy  string
	AddedAt   time.Time
	ExpiresAt *time.Time
	Version   int64
	Active    bool
}

// StreamID is the stream of (server, address).
func StreamID(serverID, address string) string {
	return serverID + "|" + strings.ToLower(strings.TrimSpace(address))
}

func fold(recs []events.Record) (Entry, error) {
	var e Entry
	for _, r := range recs {
		ev, err := events.Decode(r.Envelope)
		if err != nil {
			return Entry{}, err
		}
		switch x := ev.(type) {
		case *events.SuppressionAdded:
			e = Entry{ServerID: r.Envelope.Server(), Address: x.Address, Reason: x.Reason, CausedBy: x.CausedBy,
				AddedAt: r.Envelope.OccurredAt, ExpiresAt: x.ExpiresAt, Active: true}
		case *events.SuppressionRemoved:
			e.Active = false
		}
		e.Version = r.Envelope.StreamVersion
	}
	return e, nil
}

// ActiveAt reports whether the entry suppresses mail at t.
func (e Entry) ActiveAt(t time.Time) bool {
	return e.Active && (e.ExpiresAt == nil || t.Before(*e.ExpiresAt))
}

// Handler runs suppression commands against the event store.
type Handler struct {
	store domain.EventStore
	rec   domain.Recorder
}

// NewHandler refuses a nil store.
func NewHandler(store domain.EventStore, rec domain.Recorder) (*Handler, error) {
	if store == nil {
		return nil, errors.New("suppression: nil event store")
	}
	return &Handler{store: store, rec: rec}, nil
}

// Get returns the entry of (server, address); Version 0 when there never was one.
func (h *Handler) Get(ctx context.Context, serverID, address string) (Entry, error) {
	recs, err := h.store.ReadStream(ctx, events.StreamSuppression, StreamID(serverID, address), 1)
	if err != nil {
		return Entry{}, fmt.Errorf("suppression: read: %w", err)
	}
	return fold(recs)
}

// IsSuppressed reports whether the server must not mail address now.
func (h *Handler) IsSuppressed(ctx context.Context, serverID, address string) (bool, error) {
	e, err := h.Get(ctx, serverID, address)
	if err != nil {
		return false, err
	}
	return e.ActiveAt(h.rec.Now()), nil
}

// Add suppresses address for the server; adding an active entry again refreshes it (new reason
// and expiry). A zero ttl means no expiry.
func (h *Handler) Add(ctx context.Context, serverID, address, reason, causedBy string, ttl time.Duration, c domain.Cause) error {
	address = strings.ToLower(strings.TrimSpace(address))
	if at := strings.LastIndexByte(address, '@'); at < 1 || at == len(address)-1 {
		return fmt.Errorf("suppression: %q: %w", address, ErrBadAddress)
	}
	var exp *time.Time
	if ttl > 0 {
		t := h.rec.Now().Add(ttl).UTC()
		exp = &t
	}
	return h.decide(ctx, serverID, address, c, func(Entry) ([]events.Event, error) {
		return []events.Event{events.SuppressionAdded{Address: address, Reason: reason, CausedBy: causedBy, ExpiresAt: exp}}, nil
	})
}

// Suppress implements dispatch.Suppressor (no expiry).
func (h *Handler) Suppress(ctx context.Context, serverID, address, reason, causedBy string, c domain.Cause) error {
	return h.Add(ctx, serverID, address, reason, causedBy, 0, c)
}

// Remove lets the server mail address again.
func (h *Handler) Remove(ctx context.Context, serverID, address, reason string, c domain.Cause) error {
	address = strings.ToLower(strings.TrimSpace(address))
	return h.decide(ctx, serverID, address, c, func(e Entry) ([]events.Event, error) {
		if !e.Active {
			return nil, fmt.Errorf("suppression: %s: %w", address, ErrNotSuppressed)
		}
		return []events.Event{events.SuppressionRemoved{Address: address, Reason: reason}}, nil
	})
}

func (h *Handler) decide(ctx context.Context, serverID, address string, c domain.Cause, fn func(Entry) ([]events.Event, error)) error {
	for try := 0; ; try++ {
		e, err := h.Get(ctx, serverID, address)
		if err != nil {
			return err
		}
		evs, err := fn(e)
		if err != nil {
			return err
		}
		envs, err := h.rec.Envelopes(events.StreamSuppression, StreamID(serverID, address), serverID, e.Version, c, evs...)
		if err != nil {
			return err
		}
		err = h.store.Append(ctx, envs...)
		if err == nil || !domain.IsConflict(err) || try >= 5 {
			return err
		}
	}
}

// List returns the server's entries (active ones only unless all), sorted by address.
func (h *Handler) List(ctx context.Context, serverID string, all bool) ([]Entry, error) {
	recs, err := h.store.Query(ctx, domain.EventFilter{StreamType: events.StreamSuppression, ServerID: serverID, Limit: 1 << 30})
	if err != nil {
		return nil, fmt.Errorf("suppression: list: %w", err)
	}
	byStream := map[string][]events.Record{}
	for _, r := range recs {
		byStream[r.Envelope.StreamID] = append(byStream[r.Envelope.StreamID], r)
	}
	now := h.rec.Now()
	var out []Entry
	for _, rs := range byStream {
		sort.Slice(rs, func(i, j int) bool { return rs[i].Envelope.StreamVersion < rs[j].Envelope.StreamVersion })
		e, err := fold(rs)
		if err != nil {
			return nil, err
		}
		if all || e.ActiveAt(now) {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Address < out[j].Address })
	return out, nil
}
