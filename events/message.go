package events

import "time"

// Message stream events: one stream per recipient (stream_type "message", stream_id the
// message id). The body is shared by all recipients of one submission and never travels in
// an event: events reference it by BodyID.

// Hold reasons carried by MessageHeld.
const (
	HoldDevelopmentMode = "development_mode"
	HoldCredential      = "credential_hold"
	HoldSuppressed      = "suppressed"
	HoldSendLimit       = "send_limit"
)

// MessageQueued: the message was accepted; its body was durable in the same transaction.
type MessageQueued struct {
	SubmissionID string   `json:"submission_id"`
	BodyID       string   `json:"body_id"`
	MailFrom     string   `json:"mail_from"`
	RcptTo       string   `json:"rcpt_to"`
	HeaderFrom   string   `json:"header_from"`
	HeaderTo     []string `json:"header_to,omitempty"`
	Subject      string   `json:"subject"`
	MessageID    string   `json:"message_id_header"`
	Size         int64    `json:"size"`
	Tag          string   `json:"tag,omitempty"`
	CredentialID string   `json:"credential_id,omitempty"`
	ClientIP     string   `json:"client_ip,omitempty"`
	TLS          bool     `json:"tls"`
	Source       string   `json:"source"` // smtp, api, cli (send-test)
	Bounce       bool     `json:"bounce,omitempty"`
}

func (MessageQueued) EventType() string { return "message.queued" }

// MessageHeld: the message will not be delivered until released.
type MessageHeld struct {
	Reason  string    `json:"reason"`
	Details string    `json:"details,omitempty"`
	Expires time.Time `json:"expires_at"`
}

func (MessageHeld) EventType() string { return "message.held" }

// MessageReleased: an operator released a held message.
type MessageReleased struct {
	By string `json:"by,omitempty"`
}

func (MessageReleased) EventType() string { return "message.released" }

// MessageHoldCancelled: an operator cancelled the hold, or it expired after 7 days.
type MessageHoldCancelled struct {
	Reason string `json:"reason"` // operator, expired
}

func (MessageHoldCancelled) EventType() string { return "message.hold_cancelled" }

// DKIMSignature describes one signature added to the message.
type DKIMSignature struct {
	Domain    string `json:"domain"`
	Selector  string `json:"selector"`
	Algorithm string `json:"algorithm"` // rsa-sha256, ed25519-sha256
}

// MessageSigned: DKIM signatures were added to the body.
type MessageSigned struct {
	Signatures []DKIMSignature `json:"signatures"`
	SignedBody string          `json:"signed_body_id,omitempty"`
}

func (MessageSigned) EventType() string { return "message.signed" }

// MessageAttempted: one delivery attempt to a remote server ended.
type MessageAttempted struct {
	Attempt      int    `json:"attempt"`
	MXHost       string `json:"mx_host"`
	IP           string `json:"ip,omitempty"`
	TLSVersion   string `json:"tls_version,omitempty"`
	TLSCipher    string `json:"tls_cipher,omitempty"`
	ReplyCode    int    `json:"reply_code"`
	EnhancedCode string `json:"enhanced_code,omitempty"`
	ReplyText    string `json:"reply_text"`
	DurationMS   int64  `json:"duration_ms"`
	TranscriptID string `json:"transcript_id,omitempty"`
	Result       string `json:"result"` // delivered, deferred, bounced
}

func (MessageAttempted) EventType() string { return "message.attempted" }

// MessageDelivered: the remote server answered 2xx.
type MessageDelivered struct {
	MXHost    string `json:"mx_host"`
	ReplyCode int    `json:"reply_code"`
	ReplyText string `json:"reply_text"`
	Attempt   int    `json:"attempt"`
}

func (MessageDelivered) EventType() string { return "message.delivered" }

// MessageDeferred: a temporary failure; another attempt is due at NextAttemptAt.
type MessageDeferred struct {
	Attempt       int       `json:"attempt"`
	NextAttemptAt time.Time `json:"next_attempt_at"`
	Reason        string    `json:"reason"`
	ReplyCode     int       `json:"reply_code,omitempty"`
	Diagnostic    string    `json:"diagnostic,omitempty"`
}

func (MessageDeferred) EventType() string { return "message.deferred" }

// MessageBounced: permanent failure, now (5xx) or later (DSN).
type MessageBounced struct {
	Reason     string `json:"reason"` // sisimai reason name: userunknown, mailboxfull, ...
	Class      string `json:"class"`  // hard, soft
	Status     string `json:"status"` // enhanced status code, e.g. 5.1.1
	Diagnostic string `json:"diagnostic"`
	RemoteMTA  string `json:"remote_mta,omitempty"`
	Source     string `json:"source"` // smtp (synchronous reply), dsn (asynchronous report)
	ReportID   string `json:"report_id,omitempty"`
}

func (MessageBounced) EventType() string { return "message.bounced" }

// MessageExpired: retries were exhausted.
type MessageExpired struct {
	Attempts      int    `json:"attempts"`
	LastReplyCode int    `json:"last_reply_code,omitempty"`
	LastReply     string `json:"last_reply,omitempty"`
}

func (MessageExpired) EventType() string { return "message.expired" }

// MessageOpened: a tracking pixel was loaded.
type MessageOpened struct {
	IP        string `json:"ip,omitempty"`
	UserAgent string `json:"user_agent,omitempty"`
}

func (MessageOpened) EventType() string { return "message.opened" }

// MessageClicked: a tracked link was followed.
type MessageClicked struct {
	URL       string `json:"url"`
	IP        string `json:"ip,omitempty"`
	UserAgent string `json:"user_agent,omitempty"`
}

func (MessageClicked) EventType() string { return "message.clicked" }

// MessageComplained: a feedback report (ARF) named this message as spam.
type MessageComplained struct {
	FeedbackType string `json:"feedback_type"`
	UserAgent    string `json:"user_agent,omitempty"`
	ReportID     string `json:"report_id,omitempty"`
}

func (MessageComplained) EventType() string { return "message.complained" }

// MessageUnsubscribed: the recipient used the List-Unsubscribe link.
type MessageUnsubscribed struct {
	Method string `json:"method"` // one-click, link, mailto
}

func (MessageUnsubscribed) EventType() string { return "message.unsubscribed" }

func init() {
	register(MessageQueued{}, 1)
	register(MessageHeld{}, 1)
	register(MessageReleased{}, 1)
	register(MessageHoldCancelled{}, 1)
	register(MessageSigned{}, 1)
	register(MessageAttempted{}, 1)
	register(MessageDelivered{}, 1)
	register(MessageDeferred{}, 1)
	register(MessageBounced{}, 1)
	register(MessageExpired{}, 1)
	register(MessageOpened{}, 1)
	register(MessageClicked{}, 1)
	register(MessageComplained{}, 1)
	register(MessageUnsubscribed{}, 1)
}
