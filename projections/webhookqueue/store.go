package webhookqueue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/posthaste/posthaste/events"
)

// ErrNotFound: no delivery has that id.
var ErrNotFound = errors.New("webhooks: not found")

// Store answers the sender and the CLI over the webhook tables.
type Store struct {
	db      *sql.DB
	dialect string
}

// NewStore refuses a nil database or an unknown dialect.
func NewStore(db *sql.DB, dialect string) (*Store, error) {
	if db == nil {
		return nil, errors.New("webhooks: nil database")
	}
	if dialect != "mysql" && dialect != "sqlite" {
		return nil, fmt.Errorf("webhooks: unknown dialect %q", dialect)
	}
	return &Store{db: db, dialect: dialect}, nil
}

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

// maxRefusedRun ends a claim's scan after this many refused candidates in a row.
const maxRefusedRun = 256

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?,", n), ",") }

func fromUS(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// Claim leases up to limit due deliveries to owner until now+ttl and returns them. A delivery
// is due when it is pending, its next attempt time has come, nobody holds a live lease on it,
// and no earlier event of the same stream is still pending for the same subscription (so one
// subscription receives a message's events in the order they happened). Two owners never
// both get one delivery while its lease lasts.
//
// take, when not nil, is asked about each due candidate in order (its subscription id) and
// may refuse it (the sender caps what it holds per endpoint); candidates beyond 4×limit, or
// after a run of maxRefusedRun refusals (the rest likely belong to a saturated endpoint), are
// not considered in one call.
func (s *Store) Claim(ctx context.Context, owner string, now time.Time, ttl time.Duration, limit int, take func(webhookID string) bool) ([]Claimed, error) {
	nowUS, untilUS := now.UTC().UnixMicro(), now.Add(ttl).UTC().UnixMicro()
	// The candidates come in pages: the first asks for limit rows (a server computes and sends
	// every row of a page, with the ordering probe of each, whether or not they are read), and
	// only refusals make a claim read on, up to 4×limit candidates.
	var ids []any
	taken := map[string]bool{}
	refused, seen, page := 0, 0, limit
	for len(ids) < limit && refused < maxRefusedRun && seen < 4*limit {
		rows, err := s.db.QueryContext(ctx, `SELECT d.delivery_id, d.webhook_id FROM webhook_deliveries d
			WHERE d.status = ? AND d.next_attempt_us <= ? AND d.lease_until_us < ?
			AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.webhook_id = d.webhook_id AND e.stream_key = d.stream_key
				AND e.stream_version < d.stream_version AND e.status = ?)
			ORDER BY d.next_attempt_us LIMIT ? OFFSET ?`, StatusPending, nowUS, nowUS, StatusPending, page, seen)
		if err != nil {
			return nil, errorf("claim", err)
		}
		n := 0
		for rows.Next() && len(ids) < limit && refused < maxRefusedRun {
			var id, wh string
			if err := rows.Scan(&id, &wh); err != nil {
				rows.Close()
				return nil, errorf("claim", err)
			}
			n++
			switch {
			case taken[id]: // seen on the previous page (rows of equal due time)
			case take == nil || take(wh):
				ids = append(ids, id)
				taken[id] = true
				refused = 0
			default:
				refused++
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, errorf("claim", err)
		}
		seen += n
		if n < page {
			break // the due range is exhausted, or the page was left early (enough taken or refused)
		}
		page = min(limit, 4*limit-seen)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	ph := placeholders(len(ids))
	// A leased delivery's next attempt moves to its lease's end: due-scans skip deliveries in
	// flight, and a delivery whose sender died is due again exactly when its lease expires.
	args := append([]any{owner, untilUS, untilUS}, ids...)
	args = append(args, StatusPending, nowUS)
	if _, err := s.db.ExecContext(ctx, `UPDATE webhook_deliveries SET lease_owner = ?, lease_until_us = ?, next_attempt_us = ?
		WHERE delivery_id IN (`+ph+`) AND +status = ? AND +lease_until_us < ?`, args...); err != nil {
		return nil, errorf("claim", err)
	}
	sel := append([]any{owner, untilUS}, ids...)
	rows, err := s.db.QueryContext(ctx, `SELECT d.delivery_id, d.webhook_id, d.stream_key, d.event_json, d.attempts, d.first_attempt_us,
		COALESCE(w.url, ''), COALESCE(w.format, ''), COALESCE(w.enabled, 0), COALESCE(w.secret_id, ''),
		COALESCE(w.previous_secret_id, ''), COALESCE(w.previous_until_us, 0)
		FROM webhook_deliveries d
		LEFT JOIN webhook_subscriptions w ON w.webhook_id = d.webhook_id
		WHERE d.lease_owner = ? AND d.lease_until_us = ? AND d.delivery_id IN (`+ph+`)
		ORDER BY d.next_attempt_us`, sel...)
	if err != nil {
		return nil, errorf("claim", err)
	}
	var out []Claimed
	byMessage := map[string][]int{}
	for rows.Next() {
		var c Claimed
		var ev, streamKey string
		var first, prevUntil int64
		var enabled int
		if err := rows.Scan(&c.DeliveryID, &c.WebhookID, &streamKey, &ev, &c.Attempts, &first, &c.URL, &c.Format, &enabled, &c.SecretID,
			&c.PreviousSecretID, &prevUntil); err != nil {
			rows.Close()
			return nil, errorf("claim", err)
		}
		c.EventJSON, c.Enabled = []byte(ev), enabled == 1
		c.FirstAttempt, c.PreviousUntil = fromUS(first), fromUS(prevUntil)
		if id, ok := strings.CutPrefix(streamKey, events.StreamMessage+"/"); ok {
			byMessage[id] = append(byMessage[id], len(out))
		}
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, errorf("claim", err)
	}
	if len(byMessage) == 0 {
		return out, nil
	}
	margs := make([]any, 0, len(byMessage))
	for id := range byMessage {
		margs = append(margs, id)
	}
	rows, err = s.db.QueryContext(ctx, `SELECT message_id, submission_id, mail_from, rcpt_to, header_from, subject, message_id_header,
		tag, queued_us FROM webhook_messages WHERE message_id IN (`+placeholders(len(margs))+`)`, margs...)
	if err != nil {
		return nil, errorf("claim", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var c Claimed
		var queued int64
		if err := rows.Scan(&id, &c.SubmissionID, &c.MailFrom, &c.RcptTo, &c.HeaderFrom, &c.Subject, &c.MessageIDH, &c.Tag, &queued); err != nil {
			return nil, errorf("claim", err)
		}
		for _, i := range byMessage[id] {
			o := &out[i]
			o.HasMessage, o.SubmissionID, o.MailFrom, o.RcptTo, o.HeaderFrom, o.Subject, o.MessageIDH, o.Tag, o.QueuedAt =
				true, c.SubmissionID, c.MailFrom, c.RcptTo, c.HeaderFrom, c.Subject, c.MessageIDH, c.Tag, fromUS(queued)
		}
	}
	return out, errorf2("claim", rows.Err())
}

func errorf2(op string, err error) error {
	if err == nil {
		return nil
	}
	return errorf(op, err)
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

const maxText = 1024

func clip(s string) string {
	if len(s) <= maxText {
		return s
	}
	s = s[:maxText]
	for len(s) > 0 && !utf8Valid(s) {
		s = s[:len(s)-1]
	}
	return s
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "") == s }

// Release drops owner's leases on deliveries it did not attempt (shutting down).
func (s *Store) Release(ctx context.Context, owner string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	args := []any{owner}
	for _, id := range ids {
		args = append(args, id)
	}
	_, err := s.db.ExecContext(ctx, `UPDATE webhook_deliveries SET lease_owner = '', lease_until_us = 0
		WHERE lease_owner = ? AND delivery_id IN (`+placeholders(len(ids))+`)`, args...)
	return errorf2("release", err)
}

// Complete records attempts and the deliveries' new states in one transaction, and drops the
// owner's leases on them. A delivery whose lease owner changed meanwhile keeps the newer state.
func (s *Store) Complete(ctx context.Context, owner string, results []Result) error {
	if len(results) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return errorf("complete", err)
	}
	defer tx.Rollback()
	var vals []string
	var args []any
	for _, r := range results {
		if !r.Attempted {
			continue
		}
		vals = append(vals, "(?, ?, ?, ?, ?, ?, ?, ?, ?)")
		result := "failed"
		if r.StatusCode >= 200 && r.StatusCode < 300 && r.Error == "" {
			result = "succeeded"
		}
		args = append(args, r.DeliveryID, r.Attempt, r.WebhookID, r.At.UTC().UnixMicro(), result, r.StatusCode, clip(r.Response),
			r.Duration.Microseconds(), clip(r.Error))
	}
	if len(vals) > 0 {
		if _, err := tx.ExecContext(ctx, insertIgnore(s.dialect)+` INTO webhook_attempts (delivery_id, attempt, webhook_id,
			attempted_us, result, status_code, response, duration_us, error) VALUES `+strings.Join(vals, ","), args...); err != nil {
			return errorf("complete", err)
		}
	}
	// Successes with the same code and attempt number in one statement (the common case); their
	// last attempt time is the batch's latest (each attempt's own time is in webhook_attempts).
	type key struct{ code, attempt int }
	ok := map[key][]any{}
	var latest int64
	for _, r := range results {
		if r.Status == StatusSucceeded {
			k := key{r.StatusCode, r.Attempt}
			ok[k] = append(ok[k], r.DeliveryID)
			latest = max(latest, r.At.UTC().UnixMicro())
		}
	}
	for _, r := range results {
		if r.Status == StatusSucceeded {
			continue
		}
		nextUS := int64(0)
		if r.Status == StatusPending {
			nextUS = r.Next.UTC().UnixMicro()
		}
		if !r.Attempted {
			// Nothing was sent (subscription disabled, or handed back at shutdown): the attempt
			// count and the last attempt's outcome stay.
			if _, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = ?, next_attempt_us = ?,
				last_error = COALESCE(NULLIF(?, ''), last_error), lease_owner = '', lease_until_us = 0
				WHERE delivery_id = ? AND lease_owner = ?`, r.Status, nextUS, clip(r.Error), r.DeliveryID, owner); err != nil {
				return errorf("complete", err)
			}
			continue
		}
		attempts := r.Attempt
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = ?, attempts = ?, next_attempt_us = ?,
			first_attempt_us = ?, last_attempt_us = ?, last_status_code = ?, last_error = ?, lease_owner = '', lease_until_us = 0
			WHERE delivery_id = ? AND lease_owner = ?`, r.Status, attempts, nextUS, usOrZero(r.FirstAt), r.At.UTC().UnixMicro(),
			r.StatusCode, clip(r.Error), r.DeliveryID, owner); err != nil {
			return errorf("complete", err)
		}
	}
	for k, ids := range ok {
		for len(ids) > 0 {
			n := min(len(ids), 500)
			a := append([]any{StatusSucceeded, k.attempt, latest, latest, k.code}, ids[:n]...)
			a = append(a, owner)
			if _, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = ?, attempts = ?, next_attempt_us = 0,
				first_attempt_us = CASE WHEN first_attempt_us = 0 THEN ? ELSE first_attempt_us END, last_attempt_us = ?,
				last_status_code = ?, last_error = '', lease_owner = '', lease_until_us = 0
				WHERE delivery_id IN (`+placeholders(n)+`) AND lease_owner = ?`, a...); err != nil {
				return errorf("complete", err)
			}
			ids = ids[n:]
		}
	}
	return errorf2("complete", tx.Commit())
}

func usOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UTC().UnixMicro()
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
func (s *Store) Deliveries(ctx context.Context, webhookID string, limit int) ([]Delivery, error) {
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
		d.OccurredAt, d.LastAttemptAt = fromUS(occ), fromUS(last)
		if d.Status == StatusPending {
			d.NextAttemptAt = fromUS(next)
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
		a.At, a.DurationMS = fromUS(at), float64(dur)/1000
		if i, ok := idx[id]; ok {
			out[i].History = append(out[i].History, a)
		}
	}
	return out, errorf2("deliveries", ar.Err())
}

// Redeliver makes a delivery due again at now (same webhook-id), whatever its status.
func (s *Store) Redeliver(ctx context.Context, deliveryID string, now time.Time) (Delivery, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE webhook_deliveries SET status = ?, next_attempt_us = ?, first_attempt_us = 0
		WHERE delivery_id = ?`, StatusPending, now.UTC().UnixMicro(), deliveryID)
	if err != nil {
		return Delivery{}, errorf("redeliver", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		// MariaDB counts changed rows only: check that the row exists.
		var x int
		if err := s.db.QueryRowContext(ctx, `SELECT 1 FROM webhook_deliveries WHERE delivery_id = ?`, deliveryID).Scan(&x); err != nil {
			return Delivery{}, fmt.Errorf("webhooks: redeliver: delivery %q: %w", deliveryID, ErrNotFound)
		}
	}
	var d Delivery
	var occ int64
	err = s.db.QueryRowContext(ctx, `SELECT delivery_id, webhook_id, event_id, event_type, status, attempts, occurred_us
		FROM webhook_deliveries WHERE delivery_id = ?`, deliveryID).Scan(&d.ID, &d.WebhookID, &d.EventID, &d.EventType, &d.Status, &d.Attempts, &occ)
	d.OccurredAt = fromUS(occ)
	return d, errorf2("redeliver", err)
}

// Enqueue makes each event due for a subscription at now, creating its delivery or setting an
// existing one pending again (same webhook-id): replay and test pings. Events must carry their
// server. It returns the delivery ids.
func (s *Store) Enqueue(ctx context.Context, webhookID string, envs []events.Envelope, now time.Time) ([]string, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, errorf("enqueue", err)
	}
	defer tx.Rollback()
	ids := make([]string, 0, len(envs))
	for _, env := range envs {
		raw, err := events.Marshal(env)
		if err != nil {
			return nil, errorf("enqueue", err)
		}
		if err := insertDelivery(ctx, tx, s.dialect, webhookID, env, raw, now.UTC().UnixMicro(), true); err != nil {
			return nil, errorf("enqueue", err)
		}
		ids = append(ids, DeliveryID(webhookID, env.ID))
	}
	return ids, errorf2("enqueue", tx.Commit())
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
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	var oldest sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*), MIN(occurred_us) FROM webhook_deliveries WHERE status = ?`, StatusPending).
		Scan(&st.Pending, &oldest); err != nil {
		return Stats{}, errorf("stats", err)
	}
	if oldest.Valid {
		st.OldestEvent = fromUS(oldest.Int64)
	}
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM webhook_subscriptions WHERE enabled = 0 AND disabled_reason LIKE ?`,
		GoneReasonPrefix+"%").Scan(&st.DisabledGone); err != nil {
		return Stats{}, errorf("stats", err)
	}
	return st, nil
}

// GoneReasonPrefix starts the disabled reason the sender records after a 410 Gone.
const GoneReasonPrefix = "410 Gone"

// SubscriptionKnown reports whether the projection has seen a subscription's creation (the
// sender only sends what the projection enqueued).
func (s *Store) SubscriptionKnown(ctx context.Context, webhookID string) (bool, error) {
	var x int
	err := s.db.QueryRowContext(ctx, `SELECT 1 FROM webhook_subscriptions WHERE webhook_id = ?`, webhookID).Scan(&x)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, errorf2("subscription", err)
}
