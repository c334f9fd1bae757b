package cli

import (
	"encoding/json"
	"time"

	"github.com/posthaste/posthaste/domain/message"
)

// messageJSON is a message's row as `messages --json` and `message show --json` print it.
type messageJSON struct {
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

func toMessageJSON(m message.Summary) messageJSON {
	return messageJSON{ID: m.ID, Server: m.ServerID, Status: string(m.Status), RcptTo: m.RcptTo, MailFrom: m.MailFrom, HeaderFrom: m.HeaderFrom,
		Subject: m.Subject, Tag: m.Tag, MessageID: m.MessageIDHeader, Size: m.Size, SubmissionID: m.SubmissionID, QueuedAt: m.QueuedAt,
		LastEventAt: m.LastEventAt, Attempts: m.Attempts, LastReplyCode: m.LastReplyCode, LastReply: m.LastReply, BounceReason: m.BounceReason,
		BounceClass: m.BounceClass, HoldReason: m.HoldReason}
}

// timelineJSON is one event of a message's timeline.
type timelineJSON struct {
	Version    int64           `json:"version"`
	ID         string          `json:"event_id"`
	Type       string          `json:"type"`
	OccurredAt time.Time       `json:"occurred_at"`
	Actor      string          `json:"actor"`
	Payload    json.RawMessage `json:"payload"`
}

// attemptJSON is one delivery attempt with its SMTP transcript.
type attemptJSON struct {
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
	Transcript   string    `json:"transcript"`
}

// showJSON is `message show --json`: the message's row, where it was read from, its timeline,
// and each attempt with its transcript.
type showJSON struct {
	messageJSON
	Source   string         `json:"source"` // view, or log (as of a time, or not yet projected)
	AsOf     *time.Time     `json:"as_of,omitempty"`
	Timeline []timelineJSON `json:"timeline"`
	Attempts []attemptJSON  `json:"attempt_log"`
}
