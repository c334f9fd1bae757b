// Package events is Posthaste's shared vocabulary: the event envelope, the catalogue of event
// types with their stable wire names and schema versions, and the JSON codec.
//
// It owns the shape of every fact the platform records, and the webhook offer catalogue (which
// events webhook subscriptions receive, webhook_offers.go). It must not import anything but the
// standard library, and it holds no behaviour beyond encoding, decoding and that catalogue.
package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Stream types. A stream is the ordered history of one aggregate.
const (
	StreamMessage     = "message"
	StreamOrg         = "org"
	StreamUser        = "user"
	StreamServer      = "server"
	StreamDomain      = "domain"
	StreamCredential  = "credential"
	StreamSuppression = "suppression"
	StreamWebhook     = "webhook"
)

// Actor types recorded in the envelope.
const (
	ActorCLI    = "cli"
	ActorAPI    = "api"
	ActorSMTP   = "smtp"
	ActorSystem = "system"
	ActorUser   = "user"
)

// Actor says who caused an event: `{"type": "cli", "id": "root"}`.
type Actor struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

func (a Actor) String() string { return a.Type + ":" + a.ID }

// Envelope is one event as stored and published. Its JSON encoding is the stored bytes.
// Position (the global order) is deliberately absent: the store assigns it and it travels
// beside these bytes (see Record).
type Envelope struct {
	ID            string          `json:"id"`
	Type          string          `json:"type"`
	SchemaVersion int             `json:"schema_version"`
	StreamType    string          `json:"stream_type"`
	StreamID      string          `json:"stream_id"`
	StreamVersion int64           `json:"stream_version"`
	ServerID      *string         `json:"server_id"`
	OccurredAt    time.Time       `json:"occurred_at"`
	Actor         Actor           `json:"actor"`
	CorrelationID string          `json:"correlation_id,omitempty"`
	CausationID   string          `json:"causation_id,omitempty"`
	Payload       json.RawMessage `json:"payload"`
}

// Record is an envelope read back from the store: the stored bytes and the position beside them.
// Position is 0 when the store has not yet assigned one (see the event store contract).
type Record struct {
	Position int64
	Envelope Envelope
	// Data, when set by the reader, is the stored encoding of Envelope exactly as Marshal
	// produced it at append; publishers send it as is instead of encoding Envelope again.
	// Nil when the record was built in memory. Whoever changes Envelope must clear it.
	Data []byte
}

// Server returns the tenant id, or "" for org/user streams.
func (e Envelope) Server() string {
	if e.ServerID == nil {
		return ""
	}
	return *e.ServerID
}

// Validate checks the fields every stored event must have.
func (e Envelope) Validate() error {
	var errs []error
	if e.ID == "" {
		errs = append(errs, errors.New("id is empty"))
	}
	if e.Type == "" {
		errs = append(errs, errors.New("type is empty"))
	}
	if e.SchemaVersion < 1 {
		errs = append(errs, fmt.Errorf("schema_version %d < 1", e.SchemaVersion))
	}
	if e.StreamType == "" || e.StreamID == "" {
		errs = append(errs, errors.New("stream_type and stream_id are required"))
	}
	if e.StreamVersion < 1 {
		errs = append(errs, fmt.Errorf("stream_version %d < 1", e.StreamVersion))
	}
	if e.OccurredAt.IsZero() {
		errs = append(errs, errors.New("occurred_at is zero"))
	}
	if e.Actor.Type == "" {
		errs = append(errs, errors.New("actor.type is empty"))
	}
	if len(e.Payload) == 0 {
		errs = append(errs, errors.New("payload is empty"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("events: invalid envelope %s %s/%s@%d: %w", e.Type, e.StreamType, e.StreamID, e.StreamVersion, errors.Join(errs...))
	}
	return nil
}

// Marshal returns the stored bytes of the envelope. Times are UTC with fractions.
func Marshal(e Envelope) ([]byte, error) {
	e.OccurredAt = e.OccurredAt.UTC()
	return json.Marshal(e)
}

// Unmarshal parses stored bytes into an envelope.
func Unmarshal(b []byte) (Envelope, error) {
	var e Envelope
	if err := json.Unmarshal(b, &e); err != nil {
		return Envelope{}, fmt.Errorf("events: decode envelope: %w", err)
	}
	return e, nil
}
