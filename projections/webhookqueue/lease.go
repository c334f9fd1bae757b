package webhookqueue

import "time"

// The values the sender's job queue (adapters/sqlstore WebhookQueue, through the port that
// adapters/webhooksender declares) hands out and takes back: a delivery claimed under a lease,
// and the outcome of its attempt.

// Claimed is one delivery taken under a lease, with everything needed to send it.
type Claimed struct {
	DeliveryID   string
	WebhookID    string
	EventJSON    []byte
	Attempts     int       // attempts made before this one
	FirstAttempt time.Time // zero before the first attempt (or after a redelivery)

	URL              string
	Format           string
	Enabled          bool
	SecretID         string
	PreviousSecretID string
	PreviousUntil    time.Time

	// Facts of the message (HasMessage false for other streams or an unknown message).
	HasMessage                                                      bool
	SubmissionID, MailFrom, RcptTo, HeaderFrom, Subject, MessageIDH string
	Tag                                                             string
	QueuedAt                                                        time.Time
}

// Result is the outcome of one attempt of a claimed delivery.
type Result struct {
	DeliveryID string
	WebhookID  string
	Attempt    int    // 1-based number of this attempt
	Status     string // the delivery's new status
	At         time.Time
	FirstAt    time.Time // the delivery's first attempt (kept for the give-up age)
	Next       time.Time // next attempt, when Status is pending
	StatusCode int       // 0 when no response
	Response   string    // excerpt, at most 1 KiB
	Duration   time.Duration
	Error      string
	Attempted  bool // false when nothing was sent (subscription disabled, shutdown): no attempt row
}
