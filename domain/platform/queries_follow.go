package platform

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/events"
)

// Following the log: the events matching a filter (or those of a recipient's messages) as they
// are positioned, read by position, so a follower misses no event that committed late.

// Head returns the highest position the log has assigned (0 when none): where a follower that
// has read nothing starts. It needs the read side.
func (q *Queries) Head(ctx context.Context, caller Caller) (int64, error) {
	if caller.kind == nobody {
		return 0, forbidden("head position", "authenticated callers")
	}
	if q.c.d.ReadSide == nil {
		return 0, notConfigured("head position", "read side")
	}
	return q.c.d.ReadSide.Head(ctx)
}

// EventFollower reads the log by position after a start, for one caller, and keeps the events
// its filter selects (and, following a recipient, only those of the messages to that address,
// including messages queued to it later). It is not safe for concurrent use.
type EventFollower struct {
	q      *Queries
	caller Caller
	f      domain.EventFilter
	after  int64

	rcpt string          // "" = no recipient
	mine map[string]bool // the recipient's message ids
}

// FollowEvents follows the events matching f (every field but After and Limit, as
// domain.EventStore.Query applies them) after position after.
func (q *Queries) FollowEvents(caller Caller, f domain.EventFilter, after int64) *EventFollower {
	return &EventFollower{q: q, caller: caller, f: f, after: after}
}

// FollowRecipient follows the events matching f of the messages to rcpt (case-insensitive) after
// position after: those of messageIDs (RecipientEvents' ids) and of every message queued to rcpt
// from then on.
func (q *Queries) FollowRecipient(caller Caller, rcpt string, f domain.EventFilter, messageIDs []string, after int64) *EventFollower {
	w := &EventFollower{q: q, caller: caller, f: f, after: after, rcpt: strings.ToLower(strings.TrimSpace(rcpt)), mine: map[string]bool{}}
	for _, id := range messageIDs {
		w.mine[id] = true
	}
	return w
}

// Next reads at most limit events of the log after the follower's position (advancing it past
// them, kept or not) and returns those it keeps, in position order; full says whether limit
// events were read (more may be waiting: ask again at once). Callers other than operators keep
// only their servers' events.
func (w *EventFollower) Next(ctx context.Context, limit int) (recs []events.Record, full bool, err error) {
	if w.caller.kind == nobody {
		return nil, false, forbidden("follow events", "authenticated callers")
	}
	page, err := w.q.c.events.ReadAll(ctx, w.after, limit)
	if err != nil {
		return nil, false, fmt.Errorf("follow events: %w", err)
	}
	for _, r := range page {
		w.after = r.Position
		e := r.Envelope
		if !w.caller.IsOperator() && (e.Server() == "" || !w.caller.Allows(e.Server())) {
			continue
		}
		if w.rcpt != "" {
			if e.StreamType != events.StreamMessage {
				continue
			}
			if !w.mine[e.StreamID] && e.Type == (events.MessageQueued{}).EventType() && queuedTo(e, w.rcpt) {
				w.mine[e.StreamID] = true
			}
			if !w.mine[e.StreamID] {
				continue
			}
		}
		if matches(w.f, e) {
			recs = append(recs, r)
		}
	}
	return recs, len(page) == limit, nil
}

// queuedTo reports whether a message.queued event is addressed to rcpt (lower case).
func queuedTo(e events.Envelope, rcpt string) bool {
	var m struct {
		RcptTo string `json:"rcpt_to"`
	}
	return json.Unmarshal(e.Payload, &m) == nil && strings.EqualFold(m.RcptTo, rcpt)
}

// matches applies a filter to one envelope as the event store's Query does.
func matches(f domain.EventFilter, e events.Envelope) bool {
	switch {
	case f.StreamType != "" && e.StreamType != f.StreamType, f.StreamID != "" && e.StreamID != f.StreamID:
		return false
	case f.ServerID != "" && e.Server() != f.ServerID:
		return false
	case f.ActorType != "" && e.Actor.Type != f.ActorType, f.ActorID != "" && e.Actor.ID != f.ActorID:
		return false
	case !f.Since.IsZero() && e.OccurredAt.Before(f.Since), !f.Until.IsZero() && !e.OccurredAt.Before(f.Until):
		return false
	}
	if len(f.Types) == 0 {
		return true
	}
	for _, t := range f.Types {
		if t == e.Type {
			return true
		}
	}
	return false
}
