package webhookqueue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ErrNotFound: no delivery has that id.
var ErrNotFound = errors.New("webhooks: not found")

// Reader lists deliveries and reads the figures of the webhook tables. Its queries mean the same
// on every database; the writes of the sender's queue are adapters/sqlstore's WebhookQueue.
type Reader struct{ db *sql.DB }

// NewReader refuses a nil database.
func NewReader(db *sql.DB) (*Reader, error) {
	if db == nil {
		return nil, errors.New("webhooks: new reader: nil database")
	}
	return &Reader{db: db}, nil
}

// Delivery is one row of webhook_deliveries as the CLI shows it.
type Delivery struct {
	ID             string    `json:"id"`
	WebhookID      string    `json:"webhook_id"`
	EventID        string    `json:"event_id"`
	EventType      string    `json:"event_type"`
	StreamKey      string    `json:"stream"`
	Status         string    `json:"status"`
	Attempts       int       `json:"attempts"`
	OccurredAt     time.Time `json:"occurred_at"`
	NextAttemptAt  time.Time `json:"next_attempt_at,omitzero"`
	LastAttemptAt  time.Time `json:"last_attempt_at,omitzero"`
	LastStatusCode int       `json:"last_status_code,omitempty"`
	LastError      string    `json:"last_error,omitempty"`
	History        []Attempt `json:"attempt_history"`
}

// Attempt is one recorded HTTP attempt.
type Attempt struct {
	Attempt    int       `json:"attempt"`
	At         time.Time `json:"at"`
	Result     string    `json:"result"`
	StatusCode int       `json:"status_code,omitempty"`
	Response   string    `json:"response,omitempty"`
	DurationMS float64   `json:"duration_ms"`
	Error      string    `json:"error,omitempty"`
}

// Deliveries lists a subscription's deliveries, oldest event first, each with its attempts.
func (s *Reader) Deliveries(ctx context.Context, webhookID string, limit int) ([]Delivery, error) {
	// One read transaction, so the rows and their attempts are one snapshot: a sender completing
	// an attempt between the two queries would otherwise show an attempt the row does not count.
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, errorf("deliveries", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT delivery_id, webhook_id, event_id, event_type, stream_key, status, attempts,
		occurred_us, next_attempt_us, last_attempt_us, last_status_code, last_error
		FROM webhook_deliveries WHERE webhook_id = ? ORDER BY occurred_us, stream_key, stream_version LIMIT ?`, webhookID, limit)
	if err != nil {
		return nil, errorf("deliveries", err)
	}
	var out []Delivery
	idx := map[string]int{}
	for rows.Next() {
		var d Delivery
		var occ, next, last int64
		if err := rows.Scan(&d.ID, &d.WebhookID, &d.EventID, &d.EventType, &d.StreamKey, &d.Status, &d.Attempts, &occ, &next, &last,
			&d.LastStatusCode, &d.LastError); err != nil {
			rows.Close()
			return nil, errorf("deliveries", err)
		}
		d.OccurredAt, d.LastAttemptAt = FromUS(occ), FromUS(last)
		if d.Status == StatusPending {
			d.NextAttemptAt = FromUS(next)
		}
		d.History = []Attempt{}
		idx[d.ID] = len(out)
		out = append(out, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, errorf("deliveries", err)
	}
	ar, err := tx.QueryContext(ctx, `SELECT delivery_id, attempt, attempted_us, result, status_code, response, duration_us, error
		FROM webhook_attempts WHERE webhook_id = ? ORDER BY delivery_id, attempt`, webhookID)
	if err != nil {
		return nil, errorf("deliveries", err)
	}
	defer ar.Close()
	for ar.Next() {
		var id string
		var a Attempt
		var at, dur int64
		if err := ar.Scan(&id, &a.Attempt, &at, &a.Result, &a.StatusCode, &a.Response, &dur, &a.Error); err != nil {
			return nil, errorf("deliveries", err)
		}
		a.At, a.DurationMS = FromUS(at), float64(dur)/1000
		if i, ok := idx[id]; ok {
			out[i].History = append(out[i].History, a)
		}
	}
	return out, errorf("deliveries", ar.Err())
}

// Stats are the figures /metrics shows of the webhook tables.
type Stats struct {
	Pending      int64     // deliveries waiting for an attempt (first or retry), leased ones included
	OldestEvent  time.Time // when the oldest pending delivery's event occurred (zero when none)
	DisabledGone int64     // subscriptions disabled after a 410 Gone and not enabled again
}

// Stats reads the pending backlog and the subscriptions a receiver disabled. Counting walks the
// pending part of the due index (and each pending row for its event time): its cost grows with
// the backlog, not with the deliveries made.
func (s *Reader) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	var oldest sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*), MIN(occurred_us) FROM webhook_deliveries WHERE status = ?`, StatusPending).
		Scan(&st.Pending, &oldest); err != nil {
		return Stats{}, errorf("stats", err)
	}
	if oldest.Valid {
		st.OldestEvent = FromUS(oldest.Int64)
	}
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM webhook_subscriptions WHERE enabled = 0 AND disabled_reason LIKE ?`,
		GoneReasonPrefix+"%").Scan(&st.DisabledGone); err != nil {
		return Stats{}, errorf("stats", err)
	}
	return st, nil
}

// GoneReasonPrefix starts the disabled reason the sender records after a 410 Gone.
const GoneReasonPrefix = "410 Gone"

// FromUS is the time of UTC unix microseconds as the webhook tables store them (0: zero time).
func FromUS(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// errorf wraps a store error with its operation; nil stays nil.
func errorf(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("webhooks: %s: %w", op, err)
}
