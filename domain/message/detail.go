package message

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/posthaste/posthaste/events"
)

// ErrNotYetQueued is matched (errors.Is) by the error of a detail asked as of a time before the
// message was queued. It also matches ErrNotFound: the message did not exist then.
var ErrNotYetQueued = fmt.Errorf("%w at that time", ErrNotFound)

// Detail is what an operator reads about one message: its summary, its timeline and its
// delivery attempts, as they stood at a time. The message view read model keeps the same
// answer (projections/messageview.Detail); this is the fold of the stream itself, the source of
// truth, used when the view has not caught up or for a past moment.
type Detail struct {
	Summary  Summary
	Timeline []TimelineEvent
	Attempts []AttemptRecord
}

// Summary is a message's row: what the listing shows.
type Summary struct {
	ID              string
	ServerID        string
	Status          Status
	RcptTo          string // lower case
	MailFrom        string // lower case
	HeaderFrom      string
	Subject         string
	Tag             string
	MessageIDHeader string // normalised: no angle brackets, lower case
	Size            int64
	SubmissionID    string
	QueuedAt        time.Time
	LastEventAt     time.Time
	Attempts        int
	LastReplyCode   int
	LastReply       string // "code enhanced text" of the last attempt
	BounceReason    string
	BounceClass     string
	HoldReason      string // only while held
}

// TimelineEvent is one event of the message's stream.
type TimelineEvent struct {
	Version    int64
	EventID    string
	Type       string
	OccurredAt time.Time
	Actor      string // type:id
	Payload    json.RawMessage
}

// AttemptRecord is one delivery attempt (message.attempted).
type AttemptRecord struct {
	Attempt      int
	At           time.Time
	MXHost       string
	IP           string
	TLSVersion   string
	TLSCipher    string
	ReplyCode    int
	EnhancedCode string
	ReplyText    string
	DurationMS   int64
	TranscriptID string
	Result       string
}

// NormalizeMessageID is the form a Message-ID header is compared and shown in: surrounding
// white space and angle brackets removed, lower case.
func NormalizeMessageID(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "<")
	s = strings.TrimSuffix(s, ">")
	return strings.ToLower(s)
}

// DetailAsOf folds a message's stream (its records in version order) as it stood at asOf: the
// events that occurred at or before asOf, compared at the microsecond the read side keeps; all
// of them when asOf is zero. No record at all is ErrNotFound; none by asOf is ErrNotYetQueued.
func DetailAsOf(recs []events.Record, asOf time.Time) (Detail, error) {
	if !asOf.IsZero() {
		n := 0
		for n < len(recs) && !recs[n].Envelope.OccurredAt.Truncate(time.Microsecond).After(asOf) {
			n++
		}
		if n == 0 && len(recs) > 0 {
			return Detail{}, ErrNotYetQueued
		}
		recs = recs[:n]
	}
	m, err := Load(recs)
	if err != nil {
		return Detail{}, err
	}
	q := m.Queued
	d := Detail{Summary: Summary{ID: m.ID, ServerID: m.ServerID, Status: m.Status, RcptTo: strings.ToLower(q.RcptTo),
		MailFrom: strings.ToLower(q.MailFrom), HeaderFrom: q.HeaderFrom, Subject: q.Subject, Tag: q.Tag,
		MessageIDHeader: NormalizeMessageID(q.MessageID), Size: q.Size, SubmissionID: q.SubmissionID, QueuedAt: m.QueuedAt.UTC(),
		LastEventAt: recs[len(recs)-1].Envelope.OccurredAt.UTC(), Attempts: m.Attempts}}
	if m.Status == StatusHeld {
		d.Summary.HoldReason = m.HoldReason
	}
	if a := m.LastAttempt; a != nil {
		d.Summary.LastReplyCode = a.ReplyCode
		d.Summary.LastReply = strings.TrimSpace(fmt.Sprintf("%d %s %s", a.ReplyCode, a.EnhancedCode, a.ReplyText))
	}
	if b := m.Bounce; b != nil {
		d.Summary.BounceReason, d.Summary.BounceClass = b.Reason, b.Class
	}
	for _, r := range recs {
		e := r.Envelope
		d.Timeline = append(d.Timeline, TimelineEvent{Version: e.StreamVersion, EventID: e.ID, Type: e.Type,
			OccurredAt: e.OccurredAt.UTC(), Actor: e.Actor.String(), Payload: e.Payload})
		if e.Type != (events.MessageAttempted{}).EventType() {
			continue
		}
		ev, err := events.Decode(e)
		if err != nil {
			return Detail{}, err
		}
		a := ev.(*events.MessageAttempted)
		d.Attempts = append(d.Attempts, AttemptRecord{Attempt: a.Attempt, At: e.OccurredAt.UTC(), MXHost: a.MXHost, IP: a.IP,
			TLSVersion: a.TLSVersion, TLSCipher: a.TLSCipher, ReplyCode: a.ReplyCode, EnhancedCode: a.EnhancedCode,
			ReplyText: a.ReplyText, DurationMS: a.DurationMS, TranscriptID: a.TranscriptID, Result: a.Result})
	}
	return d, nil
}

// Statuses lists every status, in the order reports print them.
var Statuses = []Status{StatusQueued, StatusHeld, StatusDeferred, StatusDelivered, StatusBounced, StatusExpired, StatusCancelled}

// Tally counts messages by the status their streams put them in.
type Tally struct {
	Messages int
	Events   int
	ByStatus map[Status]int64 // every status, zero included
}

// TallyStreams folds each message stream of recs (records of any streams, any order; records of
// other stream types are ignored) and counts the messages by status. Each stream is folded in
// version order; a stream that does not fold (a gap) is an error naming it.
func TallyStreams(recs []events.Record) (Tally, error) {
	t := Tally{ByStatus: map[Status]int64{}}
	for _, s := range Statuses {
		t.ByStatus[s] = 0
	}
	streams := map[string][]events.Record{}
	for _, r := range recs {
		if r.Envelope.StreamType == events.StreamMessage {
			streams[r.Envelope.StreamID] = append(streams[r.Envelope.StreamID], r)
		}
	}
	for id, rs := range streams {
		sort.Slice(rs, func(i, j int) bool { return rs[i].Envelope.StreamVersion < rs[j].Envelope.StreamVersion })
		m, err := Load(rs)
		if err != nil {
			return Tally{}, fmt.Errorf("message %s: %w", id, err)
		}
		t.ByStatus[m.Status]++
		t.Messages++
		t.Events += len(rs)
	}
	return t, nil
}
