package platform

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/events"
)

// The audit trail: events by filter, by recipient, and the feed by position.

// scopeFilter narrows an event filter to the caller: a credential's caller sees its server, a UI
// user must name one of its servers, an operator sees what it asks for. A server outside the
// scope answers as a missing one.
func (c *core) scopeFilter(ctx context.Context, caller Caller, f domain.EventFilter) (domain.EventFilter, error) {
	if caller.IsOperator() {
		return f, nil
	}
	if f.ServerID == "" {
		if caller.kind != credentialCaller {
			return f, invalidf("name the server whose events to read")
		}
		f.ServerID = caller.ServerID()
	}
	if !caller.Allows(f.ServerID) {
		return f, notFound("server", f.ServerID, nil)
	}
	return f, nil
}

// AuditTrail returns one page of the events matching f, within the caller's scope: positioned
// ones in position order (f.After and f.Limit page them; Limit 0 = 1000), then, on the last page,
// those not yet positioned (Position 0).
func (q *Queries) AuditTrail(ctx context.Context, caller Caller, f domain.EventFilter) ([]events.Record, error) {
	f, err := q.c.scopeFilter(ctx, caller, f)
	if err != nil {
		return nil, err
	}
	recs, err := q.c.events.Query(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("query events: %w", err)
	}
	return recs, nil
}

// maxRecipientMessages bounds how many messages of one recipient RecipientEvents reads.
const maxRecipientMessages = 10000

// RecipientMessages returns the ids of the messages to an address (case-insensitive) within the
// caller's scope (serverID "" = every server an operator sees), with the freshness rule: the
// message view's rows, then the message.queued events past its horizon, so a message queued a
// moment ago is found too. Oldest first, the view's before the tail's.
func (q *Queries) RecipientMessages(ctx context.Context, caller Caller, rcpt, serverID string) ([]string, error) {
	f, err := q.c.scopeFilter(ctx, caller, domain.EventFilter{ServerID: serverID})
	if err != nil {
		return nil, err
	}
	rcpt = strings.ToLower(strings.TrimSpace(rcpt))
	after, err := horizon(ctx, q.c.d.Messages)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var ids []string
	if q.c.d.Messages != nil {
		got, err := q.c.d.Messages.MessagesOfRecipient(ctx, rcpt, f.ServerID, maxRecipientMessages)
		if err != nil {
			return nil, err
		}
		for _, id := range got {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	f.Types = []string{(events.MessageQueued{}).EventType()}
	recs, err := readFrom(ctx, q.c.events, f, after)
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		var m struct {
			RcptTo string `json:"rcpt_to"`
		}
		if json.Unmarshal(r.Envelope.Payload, &m) == nil && strings.EqualFold(m.RcptTo, rcpt) && !seen[r.Envelope.StreamID] {
			seen[r.Envelope.StreamID] = true
			ids = append(ids, r.Envelope.StreamID)
		}
	}
	return ids, nil
}

// RecipientEvents returns the events matching f of every message to rcpt within the caller's
// scope (f.ServerID narrows it; f.StreamType and f.StreamID are ignored), positioned ones in
// position order, then those not yet positioned, with the ids of the messages (to follow them).
func (q *Queries) RecipientEvents(ctx context.Context, caller Caller, rcpt string, f domain.EventFilter) ([]events.Record, []string, error) {
	ids, err := q.RecipientMessages(ctx, caller, rcpt, f.ServerID)
	if err != nil {
		return nil, nil, err
	}
	var recs []events.Record
	for _, id := range ids {
		g := f
		g.StreamType, g.StreamID = events.StreamMessage, id
		page, err := readFrom(ctx, q.c.events, g, 0)
		if err != nil {
			return nil, nil, fmt.Errorf("query events of %s: %w", id, err)
		}
		recs = append(recs, page...)
	}
	sort.SliceStable(recs, func(i, j int) bool {
		a, b := recs[i].Position, recs[j].Position
		if (a == 0) != (b == 0) {
			return b == 0
		}
		return a < b
	})
	return recs, ids, nil
}

// EventPage is one page of the feed: the records within the caller's scope, and the position
// to ask after next (the last position read, in scope or not; after itself when nothing came).
type EventPage struct {
	Records   []events.Record
	NextAfter int64
}

// EventFeed returns the positioned events after a position, in position order, at most limit
// read: gap-free in commit order, so a follower asking again after NextAfter never misses an
// event that committed late. Callers other than operators get only their servers' events.
func (q *Queries) EventFeed(ctx context.Context, caller Caller, after int64, limit int) (EventPage, error) {
	if caller.kind == nobody {
		return EventPage{}, forbidden("event feed", "authenticated callers")
	}
	recs, err := q.c.events.ReadAll(ctx, after, limit)
	if err != nil {
		return EventPage{}, fmt.Errorf("read events after %d: %w", after, err)
	}
	out := EventPage{NextAfter: after}
	if len(recs) > 0 {
		out.NextAfter = recs[len(recs)-1].Position
	}
	if caller.IsOperator() {
		out.Records = recs
		return out, nil
	}
	for _, r := range recs {
		if s := r.Envelope.Server(); s != "" && caller.Allows(s) {
			out.Records = append(out.Records, r)
		}
	}
	return out, nil
}
