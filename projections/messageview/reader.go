package messageview

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrNotFound is returned by Get for an unknown message id.
var ErrNotFound = errors.New("messages: message not found")

// Reader answers list and detail queries on the view.
type Reader struct{ db *sql.DB }

// NewReader refuses a nil database.
func NewReader(db *sql.DB) (*Reader, error) {
	if db == nil {
		return nil, errors.New("messages: new reader: nil database")
	}
	return &Reader{db: db}, nil
}

// Message is one row of the view.
type Message struct {
	ID            string    `json:"id"`
	Server        string    `json:"server"`
	Status        string    `json:"status"`
	RcptTo        string    `json:"rcpt_to"`
	MailFrom      string    `json:"mail_from"`
	HeaderFrom    string    `json:"header_from"`
	Subject       string    `json:"subject"`
	Tag           string    `json:"tag"`
	MessageID     string    `json:"message_id_header"`
	Size          int64     `json:"size"`
	SubmissionID  string    `json:"submission_id"`
	QueuedAt      time.Time `json:"queued_at"`
	LastEventAt   time.Time `json:"last_event_at"`
	Attempts      int       `json:"attempts"`
	LastReplyCode int       `json:"last_reply_code,omitempty"`
	LastReply     string    `json:"last_reply,omitempty"`
	BounceReason  string    `json:"bounce_reason,omitempty"`
	BounceClass   string    `json:"bounce_class,omitempty"`
	HoldReason    string    `json:"held_reason,omitempty"`
}

// Event is one entry of a message's timeline.
type Event struct {
	Version    int64           `json:"version"`
	ID         string          `json:"event_id"`
	Type       string          `json:"type"`
	OccurredAt time.Time       `json:"occurred_at"`
	Actor      string          `json:"actor"`
	Payload    json.RawMessage `json:"payload"`
}

// Attempt is one delivery attempt.
type Attempt struct {
	Attempt      int       `json:"attempt"`
	At           time.Time `json:"at"`
	MXHost       string    `json:"mx_host"`
	IP           string    `json:"ip,omitempty"`
	TLSVersion   string    `json:"tls_version,omitempty"`
	TLSCipher    string    `json:"tls_cipher,omitempty"`
	ReplyCode    int       `json:"reply_code"`
	EnhancedCode string    `json:"enhanced_code,omitempty"`
	ReplyText    string    `json:"reply_text"`
	DurationMS   int64     `json:"duration_ms"`
	TranscriptID string    `json:"transcript_id,omitempty"`
	Result       string    `json:"result"`
}

// Detail is a message with its timeline and attempts.
type Detail struct {
	Message
	Timeline   []Event   `json:"timeline"`
	AttemptLog []Attempt `json:"attempt_log"`
}

// ListRequest selects a page of one server's messages.
type ListRequest struct {
	Server string // server id (required)
	Query  Query
	Limit  int     // 1..1000 (default 50)
	After  *Cursor // continue after this row
	Oldest bool    // oldest first (default newest first)
}

// Page is one page of a listing; Next is nil on the last page.
type Page struct {
	Messages []Message `json:"messages"`
	Next     *Cursor   `json:"-"`
}

const viewColumns = `message_id, server_id, status, rcpt_to, mail_from, header_from, subject, tag, msgid, size,
	submission_id, queued_us, last_event_us, attempts, last_reply_code, last_reply, bounce_reason, bounce_class, held_reason`

func scanMessage(sc interface{ Scan(...any) error }) (Message, error) {
	var m Message
	var q, l int64
	err := sc.Scan(&m.ID, &m.Server, &m.Status, &m.RcptTo, &m.MailFrom, &m.HeaderFrom, &m.Subject, &m.Tag, &m.MessageID,
		&m.Size, &m.SubmissionID, &q, &l, &m.Attempts, &m.LastReplyCode, &m.LastReply, &m.BounceReason, &m.BounceClass, &m.HoldReason)
	m.QueuedAt, m.LastEventAt = time.UnixMicro(q).UTC(), time.UnixMicro(l).UTC()
	return m, err
}

// likeEscape makes s a LIKE pattern matching s anywhere, with '!' as the escape character.
func likeEscape(s string) string {
	r := strings.NewReplacer("!", "!!", "%", "!%", "_", "!_")
	return "%" + r.Replace(s) + "%"
}

// where builds the filter of a listing. Values of one key are alternatives (OR); keys combine (AND).
func where(req ListRequest) (string, []any) {
	conds := []string{"server_id = ?"}
	args := []any{req.Server}
	or := func(vals []string, one func(v string) (string, []any)) {
		if len(vals) == 0 {
			return
		}
		var parts []string
		for _, v := range vals {
			c, a := one(v)
			parts = append(parts, c)
			args = append(args, a...)
		}
		conds = append(conds, "("+strings.Join(parts, " OR ")+")")
	}
	q := req.Query
	or(q.To, func(v string) (string, []any) {
		if d, ok := strings.CutPrefix(v, "@"); ok {
			return "rcpt_domain = ?", []any{d}
		}
		if !strings.Contains(v, "@") {
			return "rcpt_domain = ?", []any{v}
		}
		return "rcpt_to = ?", []any{v}
	})
	or(q.From, func(v string) (string, []any) {
		return "(mail_from = ? OR header_from LIKE ? ESCAPE '!')", []any{v, likeEscape(v)}
	})
	or(q.Status, func(v string) (string, []any) { return "status = ?", []any{v} })
	or(q.Tag, func(v string) (string, []any) { return "tag = ?", []any{v} })
	or(q.MsgID, func(v string) (string, []any) { return "msgid = ?", []any{v} })
	for _, s := range q.Subject {
		conds = append(conds, "subject LIKE ? ESCAPE '!'")
		args = append(args, likeEscape(s))
	}
	for _, w := range q.Text {
		p := likeEscape(strings.ToLower(w))
		conds = append(conds, "(rcpt_to LIKE ? ESCAPE '!' OR mail_from LIKE ? ESCAPE '!' OR header_from LIKE ? ESCAPE '!' OR subject LIKE ? ESCAPE '!')")
		args = append(args, p, p, likeEscape(w), likeEscape(w))
	}
	if !q.After.IsZero() {
		conds = append(conds, "queued_us >= ?")
		args = append(args, q.After.UnixMicro())
	}
	if !q.Before.IsZero() {
		conds = append(conds, "queued_us < ?")
		args = append(args, q.Before.UnixMicro())
	}
	if c := req.After; c != nil {
		op := "<"
		if req.Oldest {
			op = ">"
		}
		conds = append(conds, "(queued_us "+op+" ? OR (queued_us = ? AND message_id "+op+" ?))")
		args = append(args, c.QueuedUS, c.QueuedUS, c.MessageID)
	}
	return strings.Join(conds, " AND "), args
}

// List returns a page of a server's messages matching the query, newest (or oldest) first.
// Pages are keyset-paginated on (queued time, id): messages queued while an operator pages
// never shift what the next page holds.
func (r *Reader) List(ctx context.Context, req ListRequest) (Page, error) {
	if req.Server == "" {
		return Page{}, errors.New("messages: list: no server")
	}
	if req.Limit <= 0 {
		req.Limit = 50
	}
	req.Limit = min(req.Limit, 1000)
	w, args := where(req)
	order := "queued_us DESC, message_id DESC"
	if req.Oldest {
		order = "queued_us ASC, message_id ASC"
	}
	args = append(args, req.Limit+1)
	rows, err := r.db.QueryContext(ctx, "SELECT "+viewColumns+" FROM message_view WHERE "+w+" ORDER BY "+order+" LIMIT ?", args...)
	if err != nil {
		return Page{}, fmt.Errorf("messages: list: %w", err)
	}
	defer rows.Close()
	var p Page
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return Page{}, fmt.Errorf("messages: list: %w", err)
		}
		p.Messages = append(p.Messages, m)
	}
	if err := rows.Err(); err != nil {
		return Page{}, fmt.Errorf("messages: list: %w", err)
	}
	if len(p.Messages) > req.Limit {
		p.Messages = p.Messages[:req.Limit]
		last := p.Messages[len(p.Messages)-1]
		p.Next = &Cursor{QueuedUS: last.QueuedAt.UnixMicro(), MessageID: last.ID}
	}
	return p, nil
}

// IDsByRecipient returns the ids of the messages to rcpt (any server, or one when server is
// given), oldest first, at most limit.
func (r *Reader) IDsByRecipient(ctx context.Context, rcpt, server string, limit int) ([]string, error) {
	q := `SELECT message_id FROM message_view WHERE rcpt_to = ?`
	args := []any{strings.ToLower(rcpt)}
	if server != "" {
		q += ` AND server_id = ?`
		args = append(args, server)
	}
	q += ` ORDER BY queued_us, message_id LIMIT ?`
	args = append(args, limit)
	rows, err := r.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("messages: by recipient: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("messages: by recipient: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// Get returns a message with its timeline and attempts, or ErrNotFound.
func (r *Reader) Get(ctx context.Context, id string) (Detail, error) {
	var d Detail
	m, err := scanMessage(r.db.QueryRowContext(ctx, "SELECT "+viewColumns+" FROM message_view WHERE message_id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return d, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return d, fmt.Errorf("messages: get %s: %w", id, err)
	}
	d.Message = m
	rows, err := r.db.QueryContext(ctx, `SELECT version, event_id, event_type, occurred_us, actor, payload FROM message_events
		WHERE message_id = ? ORDER BY version`, id)
	if err != nil {
		return d, fmt.Errorf("messages: timeline of %s: %w", id, err)
	}
	for rows.Next() {
		var e Event
		var at int64
		var p string
		if err := rows.Scan(&e.Version, &e.ID, &e.Type, &at, &e.Actor, &p); err != nil {
			rows.Close()
			return d, fmt.Errorf("messages: timeline of %s: %w", id, err)
		}
		e.OccurredAt, e.Payload = time.UnixMicro(at).UTC(), json.RawMessage(p)
		d.Timeline = append(d.Timeline, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return d, fmt.Errorf("messages: timeline of %s: %w", id, err)
	}
	rows, err = r.db.QueryContext(ctx, `SELECT attempt, occurred_us, mx_host, ip, tls_version, tls_cipher, reply_code, enhanced_code,
		reply_text, duration_ms, transcript_id, result FROM message_attempts WHERE message_id = ? ORDER BY version`, id)
	if err != nil {
		return d, fmt.Errorf("messages: attempts of %s: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var a Attempt
		var at int64
		if err := rows.Scan(&a.Attempt, &at, &a.MXHost, &a.IP, &a.TLSVersion, &a.TLSCipher, &a.ReplyCode, &a.EnhancedCode,
			&a.ReplyText, &a.DurationMS, &a.TranscriptID, &a.Result); err != nil {
			return d, fmt.Errorf("messages: attempts of %s: %w", id, err)
		}
		a.At = time.UnixMicro(at).UTC()
		d.AttemptLog = append(d.AttemptLog, a)
	}
	return d, rows.Err()
}
