// Package messageview is the message view read model: one row per message (per recipient) with
// what operators search and look at (envelope, headers, status, attempts, last reply, bounce,
// hold), a timeline of each message's events and a table of its delivery attempts. It also
// parses the operators' query syntax (ParseQuery) and answers list and detail queries (Reader).
//
// It owns tables message_view, message_events and message_attempts and nothing else; it
// performs no side effects. Times are stored as UTC unix microseconds, so every database
// compares them the same way.
package messageview

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections"
)

// Name is the projection's stable name (queue, checkpoints, replay target).
const Name = "message_view"

// Tables of the read model.
const (
	TableView     = "message_view"
	TableEvents   = "message_events"
	TableAttempts = "message_attempts"
)

// Statuses of a message in the view (the aggregate's, domain/message).
var Statuses = []string{"queued", "held", "deferred", "delivered", "bounced", "expired", "cancelled"}

// Projection maintains the message view. It coalesces its writes (projections.Buffered): the
// rows a transaction touches are kept in memory and written with a few multi-row statements
// when it commits, so a replay costs a handful of statements per batch, not several per event.
type Projection struct {
	mu   sync.Mutex
	bufs map[projections.Tx]*txBuf
	// view, events, attempts are the tables written (the live ones, or a replay's new ones).
	view, events, attempts string
}

// New returns the projection.
func New() *Projection {
	return &Projection{bufs: map[projections.Tx]*txBuf{}, view: TableView, events: TableEvents, attempts: TableAttempts}
}

// WithTables returns a projection that reads and writes the tables named by tables (keyed by
// the live names) instead of the live ones: a replay builds the new model in them
// (projections.Retargetable). Apply reads only by primary key, so they need no secondary index.
func (p *Projection) WithTables(tables map[string]string) projections.Projection {
	q := New()
	for _, t := range []*string{&q.view, &q.events, &q.attempts} {
		if n, ok := tables[*t]; ok {
			*t = n
		}
	}
	return q
}

func (*Projection) Name() string     { return Name }
func (*Projection) Tables() []string { return []string{TableView, TableEvents, TableAttempts} }

// viewRow is one message_view row, in column order.
type viewRow struct {
	id, server, status, rcpt, rcptDomain, mailFrom, headerFrom, subject, tag, msgid string
	size                                                                            int64
	submission                                                                      string
	queuedUS, lastUS                                                                int64
	attempts, lastCode                                                              int
	lastReply, bounceReason, bounceClass, heldReason                                string
}

func (r *viewRow) values() []any {
	return []any{r.id, r.server, r.status, r.rcpt, r.rcptDomain, r.mailFrom, r.headerFrom, r.subject, r.tag, r.msgid, r.size,
		r.submission, r.queuedUS, r.lastUS, r.attempts, r.lastCode, r.lastReply, r.bounceReason, r.bounceClass, r.heldReason}
}

const viewInsertColumns = `message_id, server_id, status, rcpt_to, rcpt_domain, mail_from, header_from, subject, tag, msgid, size,
	submission_id, queued_us, last_event_us, attempts, last_reply_code, last_reply, bounce_reason, bounce_class, held_reason`

// txBuf is what one transaction changed: rows (nil = looked up and absent), in first-touched
// order, and timeline and attempt rows to insert.
type txBuf struct {
	rows     map[string]*viewRow
	order    []string
	events   [][]any
	attempts [][]any
}

func (p *Projection) buf(tx projections.Tx) *txBuf {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.bufs[tx]
	if b == nil {
		b = &txBuf{rows: map[string]*viewRow{}}
		p.bufs[tx] = b
	}
	return b
}

// Discard drops the buffer of a rolled-back transaction.
func (p *Projection) Discard(tx projections.Tx) {
	p.mu.Lock()
	delete(p.bufs, tx)
	p.mu.Unlock()
}

// row returns the buffered row of a message, reading it from the database the first time.
func (b *txBuf) row(ctx context.Context, tx projections.Tx, view, id string) (*viewRow, error) {
	if r, ok := b.rows[id]; ok {
		return r, nil
	}
	r := &viewRow{}
	err := tx.QueryRowContext(ctx, `SELECT `+viewInsertColumns+` FROM `+view+` WHERE message_id = ?`, id).Scan(
		&r.id, &r.server, &r.status, &r.rcpt, &r.rcptDomain, &r.mailFrom, &r.headerFrom, &r.subject, &r.tag, &r.msgid, &r.size,
		&r.submission, &r.queuedUS, &r.lastUS, &r.attempts, &r.lastCode, &r.lastReply, &r.bounceReason, &r.bounceClass, &r.heldReason)
	if errors.Is(err, sql.ErrNoRows) {
		r = nil // a stream whose queued event never applied: later events only join the timeline
	} else if err != nil {
		return nil, fmt.Errorf("messages: read %s: %w", id, err)
	}
	b.rows[id] = r
	b.order = append(b.order, id)
	return r, nil
}

// Apply folds one message event into the transaction's buffer. Events of other streams are
// ignored. It changes the buffer only once nothing can fail any more.
func (p *Projection) Apply(ctx context.Context, tx projections.Tx, rec events.Record) error {
	env := rec.Envelope
	if env.StreamType != events.StreamMessage {
		return nil
	}
	ev, err := decode(env)
	if err != nil {
		return projections.Poison(fmt.Errorf("messages: decode %s: %w", env.ID, err))
	}
	at := env.OccurredAt.UTC().UnixMicro()
	id := env.StreamID
	b := p.buf(tx)
	var r *viewRow
	if q, ok := ev.(*events.MessageQueued); ok {
		// The first version of the stream (the checkpoint saw to it): the row is new.
		r = &viewRow{id: id, server: env.Server(), status: "queued", rcpt: cut(strings.ToLower(q.RcptTo), maxAddr),
			rcptDomain: cut(DomainOf(q.RcptTo), maxShort), mailFrom: cut(strings.ToLower(q.MailFrom), maxAddr),
			headerFrom: cut(q.HeaderFrom, maxText), subject: cut(q.Subject, maxText), tag: cut(q.Tag, maxShort),
			msgid: cut(NormalizeMsgID(q.MessageID), maxShort), size: q.Size, submission: cut(q.SubmissionID, 64),
			queuedUS: at, lastUS: at}
		if _, seen := b.rows[id]; !seen {
			b.order = append(b.order, id)
		}
		b.rows[id] = r
	} else if r, err = b.row(ctx, tx, p.view, id); err != nil {
		return err
	}
	b.events = append(b.events, []any{id, env.StreamVersion, env.ID, env.Type, at, cut(env.Actor.String(), maxShort), compact(env.Payload)})
	if r == nil {
		return nil
	}
	r.lastUS = at
	switch e := ev.(type) {
	case *events.MessageHeld:
		r.status, r.heldReason = "held", cut(e.Reason, 64)
	case *events.MessageReleased:
		r.status, r.heldReason = "queued", ""
	case *events.MessageHoldCancelled:
		r.status = "cancelled"
	case *events.MessageAttempted:
		b.attempts = append(b.attempts, []any{id, env.StreamVersion, e.Attempt, at, cut(e.MXHost, maxShort),
			cut(e.IP, 64), cut(e.TLSVersion, 32), cut(e.TLSCipher, 128), e.ReplyCode, cut(e.EnhancedCode, 32),
			cut(e.ReplyText, maxText), e.DurationMS, cut(e.TranscriptID, maxShort), cut(e.Result, 32)})
		r.attempts, r.lastCode = e.Attempt, e.ReplyCode
		r.lastReply = cut(strings.TrimSpace(fmt.Sprintf("%d %s %s", e.ReplyCode, e.EnhancedCode, e.ReplyText)), maxText)
	case *events.MessageDelivered:
		r.status = "delivered"
	case *events.MessageDeferred:
		r.status = "deferred"
		r.attempts = max(r.attempts, e.Attempt)
	case *events.MessageBounced:
		r.status, r.bounceReason, r.bounceClass = "bounced", cut(e.Reason, 64), cut(e.Class, 16)
	case *events.MessageExpired:
		r.status = "expired"
	}
	return nil
}

// Flush writes the transaction's buffer with multi-row statements.
func (p *Projection) Flush(ctx context.Context, tx projections.Tx) error {
	p.mu.Lock()
	b := p.bufs[tx]
	delete(p.bufs, tx)
	p.mu.Unlock()
	if b == nil {
		return nil
	}
	var rows [][]any
	for _, id := range b.order {
		if r := b.rows[id]; r != nil {
			rows = append(rows, r.values())
		}
	}
	if err := tx.Upsert(ctx, p.view, viewUpsertColumns, rows); err != nil {
		return fmt.Errorf("messages: write view: %w", err)
	}
	if err := tx.InsertIgnore(ctx, p.events, eventColumns, b.events); err != nil {
		return fmt.Errorf("messages: write timeline: %w", err)
	}
	if err := tx.InsertIgnore(ctx, p.attempts, attemptColumns, b.attempts); err != nil {
		return fmt.Errorf("messages: write attempts: %w", err)
	}
	return nil
}

// Columns of the rows Flush writes: a view row replaces the stored one (the buffer read it
// first), timeline and attempt rows are written once per event.
var (
	viewUpsertColumns = func() []projections.Column {
		var cols []projections.Column
		for _, c := range strings.Split(viewInsertColumns, ",") {
			c = strings.TrimSpace(c)
			on := projections.Replace
			if c == "message_id" {
				on = projections.Key
			}
			cols = append(cols, projections.Column{Name: c, On: on})
		}
		return cols
	}()
	eventColumns   = []string{"message_id", "version", "event_id", "event_type", "occurred_us", "actor", "payload"}
	attemptColumns = []string{"message_id", "version", "attempt", "occurred_us", "mx_host", "ip", "tls_version", "tls_cipher",
		"reply_code", "enhanced_code", "reply_text", "duration_ms", "transcript_id", "result"}
)

// Values of the types Apply needs only by type (never written to).
var (
	delivered     = &events.MessageDelivered{}
	released      = &events.MessageReleased{}
	holdCancelled = &events.MessageHoldCancelled{}
	expired       = &events.MessageExpired{}
)

// decode decodes the payload of the event types whose fields Apply reads. Other known types are
// returned by type only (their payload is not read: the timeline stores it as it is); an unknown
// type is the decoder's error.
func decode(env events.Envelope) (events.Event, error) {
	switch env.Type {
	case delivered.EventType():
		return delivered, nil
	case released.EventType():
		return released, nil
	case holdCancelled.EventType():
		return holdCancelled, nil
	case expired.EventType():
		return expired, nil
	case events.MessageQueued{}.EventType(), events.MessageHeld{}.EventType(), events.MessageAttempted{}.EventType(),
		events.MessageDeferred{}.EventType(), events.MessageBounced{}.EventType():
		return events.Decode(env)
	}
	if events.SchemaVersion(env.Type) > 0 {
		return nil, nil
	}
	return events.Decode(env)
}

// compact re-encodes a payload without blanks, so the stored text does not depend on how the
// producer indented it.
func compact(p json.RawMessage) string {
	if len(p) == 0 {
		return "{}"
	}
	if isCompact(p) {
		return string(p) // what json.Compact would return (or, for invalid JSON, what we return below)
	}
	var b bytes.Buffer
	if err := json.Compact(&b, p); err != nil {
		return string(p)
	}
	return b.String()
}

// isCompact reports whether p has no white space outside its strings (JSON strings cannot
// hold raw tabs or line breaks, and a space inside a string is kept by json.Compact).
func isCompact(p []byte) bool {
	in, esc := false, false
	for _, c := range p {
		switch {
		case esc:
			esc = false
		case in && c == '\\':
			esc = true
		case c == '"':
			in = !in
		case !in && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			return false
		}
	}
	return true
}

// column limits (the sizes of the narrowest database's columns; every database keeps the same
// cut so all agree).
const (
	maxAddr  = 320
	maxShort = 255
	maxText  = 1000
)

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// NormalizeMsgID strips the angle brackets and blanks of a Message-ID header and lowercases it.
func NormalizeMsgID(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "<")
	s = strings.TrimSuffix(s, ">")
	return strings.ToLower(s)
}

// DomainOf returns the lowercase domain of an address ("" without @).
func DomainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return strings.ToLower(addr[i+1:])
	}
	return ""
}
