package platform

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/message"
	"github.com/posthaste/posthaste/events"
)

// Messages: the listing (message view), one message's state, detail, timeline and body, and the
// states of a server's messages at a past time (the log).

// Messages lists one page of a server's messages the caller may touch (q.ServerID is set from
// server). It needs the message view.
func (q *Queries) Messages(ctx context.Context, caller Caller, server string, mq MessageQuery) (MessagePage, error) {
	if q.c.d.Messages == nil {
		return MessagePage{}, notConfigured("list messages", "message view")
	}
	ref, err := serverRef(server)
	if err != nil {
		return MessagePage{}, err
	}
	if err := q.c.authorize(ctx, caller, ref); err != nil {
		return MessagePage{}, err
	}
	mq.ServerID = ref.ID()
	return q.c.d.Messages.ListMessages(ctx, mq)
}

// Message returns a message's current state, folded from its stream.
func (q *Queries) Message(ctx context.Context, caller Caller, id string) (*message.Message, error) {
	return q.c.message(ctx, caller, id)
}

// MessageEvents returns a message's events (its stream, in version order).
func (q *Queries) MessageEvents(ctx context.Context, caller Caller, id string) ([]events.Record, error) {
	if _, err := q.c.message(ctx, caller, id); err != nil {
		return nil, err
	}
	recs, err := q.c.events.ReadStream(ctx, events.StreamMessage, id, 1)
	if err != nil {
		return nil, fmt.Errorf("read message %s: %w", id, err)
	}
	return recs, nil
}

// MessageBody returns the stored body a message is delivered with (shared by the recipients of
// its submission).
func (q *Queries) MessageBody(ctx context.Context, caller Caller, id string) ([]byte, error) {
	m, err := q.c.message(ctx, caller, id)
	if err != nil {
		return nil, err
	}
	return q.c.d.Bodies.Body(ctx, m.Queued.BodyID)
}

// Detail sources: the message view, or the log (as of a time, or not yet projected).
const (
	SourceView = "view"
	SourceLog  = "log"
)

// MessageShow is a message's detail with where it came from and each attempt's SMTP transcript.
type MessageShow struct {
	message.Detail
	Source      string    // SourceView or SourceLog
	AsOf        time.Time // zero: now
	Transcripts []Transcript
}

// Transcript is the SMTP transcript of one attempt (aligned with Detail.Attempts): its text, or
// why it is unavailable (none recorded: both empty).
type Transcript struct {
	Text        string
	Unavailable error
}

// MessageDetail returns what an operator reads about a message: from the message view when it
// has the message and asOf is zero, else folded from the stream as it stood at asOf
// (message.DetailAsOf; zero: now). A message not queued by asOf is a NotFoundError matching
// message.ErrNotYetQueued.
func (q *Queries) MessageDetail(ctx context.Context, caller Caller, id string, asOf time.Time) (MessageShow, error) {
	missing := notFound("message", id, message.ErrNotFound)
	out := MessageShow{Source: SourceLog, AsOf: asOf}
	if asOf.IsZero() && q.c.d.Messages != nil {
		d, ok, err := q.c.d.Messages.MessageDetail(ctx, id)
		if err != nil {
			return MessageShow{}, err
		}
		if ok {
			if !caller.Allows(d.Summary.ServerID) {
				return MessageShow{}, missing
			}
			out.Detail, out.Source = d, SourceView
		}
	}
	if out.Source == SourceLog {
		recs, err := q.c.events.ReadStream(ctx, events.StreamMessage, id, 1)
		if err != nil {
			return MessageShow{}, fmt.Errorf("read message %s: %w", id, err)
		}
		if len(recs) == 0 || !caller.Allows(recs[0].Envelope.Server()) {
			return MessageShow{}, missing
		}
		d, err := message.DetailAsOf(recs, asOf)
		if errors.Is(err, message.ErrNotYetQueued) {
			return MessageShow{}, &NotFoundError{Kind: "message", Name: id, also: message.ErrNotYetQueued,
				text: fmt.Sprintf("message %s did not exist at %s", id, asOf.Format(time.RFC3339))}
		}
		if err != nil {
			return MessageShow{}, fmt.Errorf("load message %s: %w", id, err)
		}
		out.Detail = d
	}
	for _, a := range out.Attempts {
		var t Transcript
		if a.TranscriptID != "" {
			t.Text, t.Unavailable = q.c.d.Transcripts.Transcript(ctx, a.TranscriptID)
		}
		out.Transcripts = append(out.Transcripts, t)
	}
	return out, nil
}

// StatesAsOf is how many of a server's messages stood in each state at a time.
type StatesAsOf struct {
	ServerID string
	AsOf     time.Time
	message.Tally
}

// StatesAsOf folds every message stream of a server the caller may touch, up to asOf, from the
// log (message.TallyStreams).
func (q *Queries) StatesAsOf(ctx context.Context, caller Caller, server string, asOf time.Time) (StatesAsOf, error) {
	ref, err := serverRef(server)
	if err != nil {
		return StatesAsOf{}, err
	}
	if err := q.c.authorize(ctx, caller, ref); err != nil {
		return StatesAsOf{}, err
	}
	recs, err := readFrom(ctx, q.c.events, domain.EventFilter{ServerID: ref.ID(), StreamType: events.StreamMessage, Until: asOf.Add(time.Nanosecond)}, 0)
	if err != nil {
		return StatesAsOf{}, err
	}
	t, err := message.TallyStreams(recs)
	if err != nil {
		return StatesAsOf{}, err
	}
	return StatesAsOf{ServerID: ref.ID(), AsOf: asOf.UTC(), Tally: t}, nil
}

// Stats builds the delivery analytics of a server the caller may touch (req.ServerID is set from
// server). It needs the stats read model.
func (q *Queries) Stats(ctx context.Context, caller Caller, server string, req StatsRequest) (StatsReport, error) {
	if q.c.d.Stats == nil {
		return StatsReport{}, notConfigured("stats", "stats read model")
	}
	ref, err := serverRef(server)
	if err != nil {
		return StatsReport{}, err
	}
	if err := q.c.authorize(ctx, caller, ref); err != nil {
		return StatsReport{}, err
	}
	req.ServerID = ref.ID()
	return q.c.d.Stats.Report(ctx, req)
}
