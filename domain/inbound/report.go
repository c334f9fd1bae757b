package inbound

import (
	"context"
	"errors"
	"time"
)

// Report statuses.
const (
	StatusPending   = "pending"   // stored, not processed yet (or processing failed and will be retried)
	StatusLinked    = "linked"    // at least one reported recipient was linked to a message
	StatusUnlinked  = "unlinked"  // a report, but no recipient could be linked to a message of ours
	StatusMalformed = "malformed" // not readable as a report at all
	StatusAutoReply = "autoreply" // an RFC 3834 automatic reply: recorded, never a bounce
)

// Statuses lists every status, for validating operator filters.
var Statuses = []string{StatusPending, StatusLinked, StatusUnlinked, StatusMalformed, StatusAutoReply}

// ErrNotFound is returned (wrapped) by Store.Report for an unknown id.
var ErrNotFound = errors.New("inbound: report not found")

// Envelope is one message accepted by the MX listener.
type Envelope struct {
	MailFrom string
	RcptTo   []string
	ClientIP string
	TLS      bool
	Raw      []byte
}

// Report is one stored inbound message and what processing made of it.
type Report struct {
	ID          string
	ReceivedAt  time.Time
	MailFrom    string
	RcptTo      []string
	ClientIP    string
	TLS         bool
	Size        int64
	Raw         []byte // nil in lists (Store.Reports)
	Status      string
	Kind        string // the parsed kind (dsn, feedback, auto-reply, none); "" while pending
	MessageID   string // the first message a recipient was linked to; "" if none
	Summary     string // JSON of Summary; "" while pending
	ProcessedAt time.Time
}

// Filter selects reports for the operator. Zero fields do not filter.
type Filter struct {
	Status string
	Limit  int // 0 = 100
}

// Store keeps the raw reports.
//
// Contract (checked against both SQL backends by inboundtest-style tests in each adapter):
//   - SaveReport writes the report durably: when it returns nil, the listener may answer 250.
//     Saving an existing id is an error; nothing else is changed.
//   - FinishReport records the result of processing (status, kind, linked message id, summary,
//     time); it only changes a report still pending and reports whether it did.
//   - Report returns one report with its raw bytes, or an error wrapping ErrNotFound.
//   - Reports returns reports without raw bytes, newest first, up to the limit.
//   - PendingReports returns the ids of pending reports received at or before the given time, oldest
//     first, up to limit.
type Store interface {
	SaveReport(ctx context.Context, r Report) error
	FinishReport(ctx context.Context, id, status, kind, messageID, summary string, at time.Time) (bool, error)
	Report(ctx context.Context, id string) (Report, error)
	Reports(ctx context.Context, f Filter) ([]Report, error)
	PendingReports(ctx context.Context, receivedBefore time.Time, limit int) ([]string, error)
}

// Summary is what processing learned, stored as JSON beside the report.
type Summary struct {
	Kind              string `json:"kind"`
	FeedbackType      string `json:"feedback_type,omitempty"`
	ReportingMTA      string `json:"reporting_mta,omitempty"`
	OriginalMessageID string `json:"original_message_id,omitempty"`
	LinkedBy          string `json:"linked_by,omitempty"` // verp, ref, returned_verp, message_id
	// Refused says why a reference found in the report was not trusted (a Message-ID whose
	// messages are not addressed to any reported recipient): the report stays unlinked.
	Refused    string             `json:"refused,omitempty"`
	Recipients []RecipientOutcome `json:"recipients,omitempty"`
	Error      string             `json:"error,omitempty"`
}

// RecipientOutcome is one reported recipient and what was done about it.
type RecipientOutcome struct {
	Address    string `json:"address"`
	Action     string `json:"action,omitempty"`
	Status     string `json:"status,omitempty"`
	Reason     string `json:"reason,omitempty"`
	Class      string `json:"class,omitempty"`
	Diagnostic string `json:"diagnostic,omitempty"`
	RemoteMTA  string `json:"remote_mta,omitempty"`
	MessageID  string `json:"message_id,omitempty"`
	// Outcome: bounced, already_bounced, recorded (not a failure), complained,
	// already_complained, autoreply, unlinked.
	Outcome    string `json:"outcome"`
	Suppressed bool   `json:"suppressed,omitempty"`
}

// Outcomes of a recipient.
const (
	OutcomeBounced           = "bounced"
	OutcomeAlreadyBounced    = "already_bounced"
	OutcomeRecorded          = "recorded"
	OutcomeComplained        = "complained"
	OutcomeAlreadyComplained = "already_complained"
	OutcomeAutoReply         = "autoreply"
	OutcomeUnlinked          = "unlinked"
)
