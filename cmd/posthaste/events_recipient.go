package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/posthaste/posthaste/adapters/sqlstore"
	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections/messageview"
)

// maxRecipientMessages bounds how many messages of one recipient `events --recipient` reads.
const maxRecipientMessages = 10000

// recipientMessageIDs finds the messages to rcpt: from the message view, and from the log's
// message.queued events (so messages not yet projected are found too).
func recipientMessageIDs(ctx context.Context, st *Store, rcpt, server string) ([]string, error) {
	rcpt = strings.ToLower(strings.TrimSpace(rcpt))
	seen := map[string]bool{}
	var ids []string
	if r, err := messageview.NewReader(st.DB.SQL); err == nil {
		got, err := r.IDsByRecipient(ctx, rcpt, server, maxRecipientMessages)
		if err != nil {
			return nil, err
		}
		for _, id := range got {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	// Messages the view has not caught up with: the queued events after its horizon.
	after, err := sqlstore.Horizon(ctx, st.DB.SQL, messageview.Name)
	if err != nil {
		return nil, fmt.Errorf("read view position: %w", err)
	}
	f := domain.EventFilter{ServerID: server, Types: []string{(events.MessageQueued{}).EventType()}, After: after, Limit: eventsPage}
	for {
		recs, err := st.Events.Query(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("query queued events: %w", err)
		}
		stop := len(recs) < eventsPage
		for _, r := range recs {
			if r.Position == 0 {
				stop = true
			} else {
				f.After = r.Position
			}
			var q struct {
				RcptTo string `json:"rcpt_to"`
			}
			if json.Unmarshal(r.Envelope.Payload, &q) == nil && strings.EqualFold(q.RcptTo, rcpt) && !seen[r.Envelope.StreamID] {
				seen[r.Envelope.StreamID] = true
				ids = append(ids, r.Envelope.StreamID)
			}
		}
		if stop {
			break
		}
	}
	return ids, nil
}

// recipientEvents prints the events of every message to rcpt that match f, positioned ones in
// position order, then any not yet positioned. With follow it keeps printing new events of
// those messages, and of messages queued to rcpt later.
func recipientEvents(ctx context.Context, st *Store, f domain.EventFilter, rcpt string, follow bool, print func(events.Record) error) error {
	ids, err := recipientMessageIDs(ctx, st, rcpt, f.ServerID)
	if err != nil {
		return err
	}
	var recs []events.Record
	for _, id := range ids {
		g := f
		g.StreamType, g.StreamID, g.After = events.StreamMessage, id, 0
		for {
			page, err := st.Events.Query(ctx, g)
			if err != nil {
				return fmt.Errorf("query events of %s: %w", id, err)
			}
			recs = append(recs, page...)
			if len(page) < eventsPage || page[len(page)-1].Position == 0 {
				break
			}
			g.After = page[len(page)-1].Position
		}
	}
	sort.SliceStable(recs, func(i, j int) bool {
		a, b := recs[i].Position, recs[j].Position
		if (a == 0) != (b == 0) {
			return b == 0
		}
		return a < b
	})
	var last int64
	for _, r := range recs {
		if follow && r.Position == 0 {
			continue // printed once positioned
		}
		last = max(last, r.Position)
		if err := print(r); err != nil {
			return err
		}
	}
	if !follow {
		return nil
	}
	mine := map[string]bool{}
	for _, id := range ids {
		mine[id] = true
	}
	match := matcher(f)
	if last == 0 {
		// Nothing printed yet: follow from the head of the log.
		var err error
		if last, err = sqlstore.LastPosition(ctx, st.DB.SQL); err != nil {
			return err
		}
	}
	for {
		page, err := st.Events.ReadAll(ctx, last, eventsPage)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("follow events: %w", err)
		}
		for _, r := range page {
			last = r.Position
			e := r.Envelope
			if e.StreamType == events.StreamMessage && e.Type == (events.MessageQueued{}).EventType() && !mine[e.StreamID] {
				var q struct {
					RcptTo string `json:"rcpt_to"`
				}
				if json.Unmarshal(e.Payload, &q) == nil && strings.EqualFold(q.RcptTo, rcpt) {
					mine[e.StreamID] = true
				}
			}
			if e.StreamType == events.StreamMessage && mine[e.StreamID] && match(e) {
				if err := print(r); err != nil {
					return err
				}
			}
		}
		if len(page) == eventsPage {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(followPoll):
		}
	}
}
