package webhook

import "time"

// Delivery statuses (the delivery queue's).
const (
	DeliveryPending   = "pending"   // an attempt is due (first try or a retry)
	DeliverySucceeded = "succeeded" // the receiver answered 2xx
	DeliveryFailed    = "failed"    // not delivered: the subscription was disabled
	DeliveryDead      = "dead"      // every attempt failed for the whole retry period
)

// Delivery is one event queued for a subscription, with every HTTP attempt made to send it:
// what operators read with `webhook deliveries` and GET /api/v2/webhooks/{id}/deliveries. The
// delivery queue (projections/webhookqueue) keeps them; its adapter maps its rows to this type.
// The JSON names are those the CLI and the API print.
type Delivery struct {
	ID             string        `json:"id"`
	WebhookID      string        `json:"webhook_id"`
	EventID        string        `json:"event_id"`
	EventType      string        `json:"event_type"`
	StreamKey      string        `json:"stream"`
	Status         string        `json:"status"`
	Attempts       int           `json:"attempts"`
	OccurredAt     time.Time     `json:"occurred_at"`
	NextAttemptAt  time.Time     `json:"next_attempt_at,omitzero"`
	LastAttemptAt  time.Time     `json:"last_attempt_at,omitzero"`
	LastStatusCode int           `json:"last_status_code,omitempty"`
	LastError      string        `json:"last_error,omitempty"`
	History        []HTTPAttempt `json:"attempt_history"`
}

// HTTPAttempt is one recorded HTTP attempt of a delivery.
type HTTPAttempt struct {
	Attempt    int       `json:"attempt"`
	At         time.Time `json:"at"`
	Result     string    `json:"result"`
	StatusCode int       `json:"status_code,omitempty"`
	Response   string    `json:"response,omitempty"`
	DurationMS float64   `json:"duration_ms"`
	Error      string    `json:"error,omitempty"`
}
