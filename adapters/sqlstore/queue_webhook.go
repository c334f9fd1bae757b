package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections/webhookqueue"
)

// WebhookQueue is the webhook sender's job queue over the webhook read model
// (projections/webhookqueue): it claims due deliveries under an expiring lease, records attempts
// (webhook_attempts) and the deliveries' new states, hands leases back, and makes deliveries due
// again (redeliver, re-enqueue). It implements the queue port of adapters/webhooksender.
type WebhookQueue struct {
	db *sql.DB
	d  Dialect
}

// NewWebhookQueue refuses a nil database or dialect.
func NewWebhookQueue(db *sql.DB, d Dialect) (*WebhookQueue, error) {
	var errs []error
	if db == nil {
		errs = append(errs, errors.New("nil database"))
	}
	if d == nil {
		errs = append(errs, errors.New("nil dialect"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("webhooks: new queue: %w", errors.Join(errs...))
	}
	return &WebhookQueue{db: db, d: d}, nil
}

// maxRefusedRun ends a claim's scan after this many refused candidates in a row.
const maxRefusedRun = 256

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
func (s *WebhookQueue) Claim(ctx context.Context, owner string, now time.Time, ttl time.Duration, limit int, take func(webhookID string) bool) ([]webhookqueue.Claimed, error) {
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
			ORDER BY d.next_attempt_us LIMIT ? OFFSET ?`, webhookqueue.StatusPending, nowUS, nowUS, webhookqueue.StatusPending, page, seen)
		if err != nil {
			return nil, webhookErr("claim", err)
		}
		n := 0
		for rows.Next() && len(ids) < limit && refused < maxRefusedRun {
			var id, wh string
			if err := rows.Scan(&id, &wh); err != nil {
				rows.Close()
				return nil, webhookErr("claim", err)
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
			return nil, webhookErr("claim", err)
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
	ph := inList(len(ids))
	// A leased delivery's next attempt moves to its lease's end: due-scans skip deliveries in
	// flight, and a delivery whose sender died is due again exactly when its lease expires.
	args := append([]any{owner, untilUS, untilUS}, ids...)
	args = append(args, webhookqueue.StatusPending, nowUS)
	if _, err := s.db.ExecContext(ctx, `UPDATE webhook_deliveries SET lease_owner = ?, lease_until_us = ?, next_attempt_us = ?
		WHERE delivery_id IN (`+ph+`) AND +status = ? AND +lease_until_us < ?`, args...); err != nil {
		return nil, webhookErr("claim", err)
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
		return nil, webhookErr("claim", err)
	}
	var out []webhookqueue.Claimed
	byMessage := map[string][]int{}
	for rows.Next() {
		var c webhookqueue.Claimed
		var ev, streamKey string
		var first, prevUntil int64
		var enabled int
		if err := rows.Scan(&c.DeliveryID, &c.WebhookID, &streamKey, &ev, &c.Attempts, &first, &c.URL, &c.Format, &enabled, &c.SecretID,
			&c.PreviousSecretID, &prevUntil); err != nil {
			rows.Close()
			return nil, webhookErr("claim", err)
		}
		c.EventJSON, c.Enabled = []byte(ev), enabled == 1
		c.FirstAttempt, c.PreviousUntil = webhookqueue.FromUS(first), webhookqueue.FromUS(prevUntil)
		if id, ok := strings.CutPrefix(streamKey, events.StreamMessage+"/"); ok {
			byMessage[id] = append(byMessage[id], len(out))
		}
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, webhookErr("claim", err)
	}
	if len(byMessage) == 0 {
		return out, nil
	}
	margs := make([]any, 0, len(byMessage))
	for id := range byMessage {
		margs = append(margs, id)
	}
	rows, err = s.db.QueryContext(ctx, `SELECT message_id, submission_id, mail_from, rcpt_to, header_from, subject, message_id_header,
		tag, queued_us FROM webhook_messages WHERE message_id IN (`+inList(len(margs))+`)`, margs...)
	if err != nil {
		return nil, webhookErr("claim", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var c webhookqueue.Claimed
		var queued int64
		if err := rows.Scan(&id, &c.SubmissionID, &c.MailFrom, &c.RcptTo, &c.HeaderFrom, &c.Subject, &c.MessageIDH, &c.Tag, &queued); err != nil {
			return nil, webhookErr("claim", err)
		}
		for _, i := range byMessage[id] {
			o := &out[i]
			o.HasMessage, o.SubmissionID, o.MailFrom, o.RcptTo, o.HeaderFrom, o.Subject, o.MessageIDH, o.Tag, o.QueuedAt =
				true, c.SubmissionID, c.MailFrom, c.RcptTo, c.HeaderFrom, c.Subject, c.MessageIDH, c.Tag, webhookqueue.FromUS(queued)
		}
	}
	return out, webhookErr("claim", rows.Err())
}

// Release drops owner's leases on deliveries it did not attempt (shutting down).
func (s *WebhookQueue) Release(ctx context.Context, owner string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	args := []any{owner}
	for _, id := range ids {
		args = append(args, id)
	}
	_, err := s.db.ExecContext(ctx, `UPDATE webhook_deliveries SET lease_owner = '', lease_until_us = 0
		WHERE lease_owner = ? AND delivery_id IN (`+inList(len(ids))+`)`, args...)
	return webhookErr("release", err)
}

// Complete records attempts and the deliveries' new states in one transaction, and drops the
// owner's leases on them. A delivery whose lease owner changed meanwhile keeps the newer state.
func (s *WebhookQueue) Complete(ctx context.Context, owner string, results []webhookqueue.Result) error {
	if len(results) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return webhookErr("complete", err)
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
		args = append(args, r.DeliveryID, r.Attempt, r.WebhookID, r.At.UTC().UnixMicro(), result, r.StatusCode, clipAttemptText(r.Response),
			r.Duration.Microseconds(), clipAttemptText(r.Error))
	}
	if len(vals) > 0 {
		if _, err := tx.ExecContext(ctx, s.d.InsertIgnore()+` INTO webhook_attempts (delivery_id, attempt, webhook_id,
			attempted_us, result, status_code, response, duration_us, error) VALUES `+strings.Join(vals, ","), args...); err != nil {
			return webhookErr("complete", err)
		}
	}
	// Successes with the same code and attempt number in one statement (the common case); their
	// last attempt time is the batch's latest (each attempt's own time is in webhook_attempts).
	type key struct{ code, attempt int }
	ok := map[key][]any{}
	var latest int64
	for _, r := range results {
		if r.Status == webhookqueue.StatusSucceeded {
			k := key{r.StatusCode, r.Attempt}
			ok[k] = append(ok[k], r.DeliveryID)
			latest = max(latest, r.At.UTC().UnixMicro())
		}
	}
	for _, r := range results {
		if r.Status == webhookqueue.StatusSucceeded {
			continue
		}
		nextUS := int64(0)
		if r.Status == webhookqueue.StatusPending {
			nextUS = r.Next.UTC().UnixMicro()
		}
		if !r.Attempted {
			// Nothing was sent (subscription disabled, or handed back at shutdown): the attempt
			// count and the last attempt's outcome stay.
			if _, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = ?, next_attempt_us = ?,
				last_error = COALESCE(NULLIF(?, ''), last_error), lease_owner = '', lease_until_us = 0
				WHERE delivery_id = ? AND lease_owner = ?`, r.Status, nextUS, clipAttemptText(r.Error), r.DeliveryID, owner); err != nil {
				return webhookErr("complete", err)
			}
			continue
		}
		attempts := r.Attempt
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = ?, attempts = ?, next_attempt_us = ?,
			first_attempt_us = ?, last_attempt_us = ?, last_status_code = ?, last_error = ?, lease_owner = '', lease_until_us = 0
			WHERE delivery_id = ? AND lease_owner = ?`, r.Status, attempts, nextUS, unixMicroOrZero(r.FirstAt), r.At.UTC().UnixMicro(),
			r.StatusCode, clipAttemptText(r.Error), r.DeliveryID, owner); err != nil {
			return webhookErr("complete", err)
		}
	}
	for k, ids := range ok {
		for len(ids) > 0 {
			n := min(len(ids), 500)
			a := append([]any{webhookqueue.StatusSucceeded, k.attempt, latest, latest, k.code}, ids[:n]...)
			a = append(a, owner)
			if _, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = ?, attempts = ?, next_attempt_us = 0,
				first_attempt_us = CASE WHEN first_attempt_us = 0 THEN ? ELSE first_attempt_us END, last_attempt_us = ?,
				last_status_code = ?, last_error = '', lease_owner = '', lease_until_us = 0
				WHERE delivery_id IN (`+inList(n)+`) AND lease_owner = ?`, a...); err != nil {
				return webhookErr("complete", err)
			}
			ids = ids[n:]
		}
	}
	return webhookErr("complete", tx.Commit())
}

func unixMicroOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UTC().UnixMicro()
}

// maxAttemptText bounds the response excerpt and the error recorded of an attempt.
const maxAttemptText = 1024

// clipAttemptText cuts s to maxAttemptText bytes, on a rune boundary.
func clipAttemptText(s string) string {
	if len(s) <= maxAttemptText {
		return s
	}
	s = s[:maxAttemptText]
	for len(s) > 0 && strings.ToValidUTF8(s, "") != s {
		s = s[:len(s)-1]
	}
	return s
}

// Redeliver makes a delivery due again at now (same webhook-id), whatever its status.
func (s *WebhookQueue) Redeliver(ctx context.Context, deliveryID string, now time.Time) (webhookqueue.Delivery, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE webhook_deliveries SET status = ?, next_attempt_us = ?, first_attempt_us = 0
		WHERE delivery_id = ?`, webhookqueue.StatusPending, now.UTC().UnixMicro(), deliveryID)
	if err != nil {
		return webhookqueue.Delivery{}, webhookErr("redeliver", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		// MariaDB counts changed rows only: check that the row exists.
		var x int
		if err := s.db.QueryRowContext(ctx, `SELECT 1 FROM webhook_deliveries WHERE delivery_id = ?`, deliveryID).Scan(&x); err != nil {
			return webhookqueue.Delivery{}, fmt.Errorf("webhooks: redeliver: delivery %q: %w", deliveryID, webhookqueue.ErrNotFound)
		}
	}
	var d webhookqueue.Delivery
	var occ int64
	err = s.db.QueryRowContext(ctx, `SELECT delivery_id, webhook_id, event_id, event_type, status, attempts, occurred_us
		FROM webhook_deliveries WHERE delivery_id = ?`, deliveryID).Scan(&d.ID, &d.WebhookID, &d.EventID, &d.EventType, &d.Status, &d.Attempts, &occ)
	d.OccurredAt = webhookqueue.FromUS(occ)
	return d, webhookErr("redeliver", err)
}

// Enqueue makes each event due for a subscription at now, creating its delivery or setting an
// existing one pending again (same webhook-id): replay and test pings. Events must carry their
// server. It returns the delivery ids.
func (s *WebhookQueue) Enqueue(ctx context.Context, webhookID string, envs []events.Envelope, now time.Time) ([]string, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, webhookErr("enqueue", err)
	}
	defer tx.Rollback()
	ptx := NewProjectionTx(tx, s.d)
	ids := make([]string, 0, len(envs))
	for _, env := range envs {
		raw, err := events.Marshal(env)
		if err != nil {
			return nil, webhookErr("enqueue", err)
		}
		if err := webhookqueue.AddDelivery(ctx, ptx, webhookID, env, raw, now.UTC().UnixMicro(), true); err != nil {
			return nil, webhookErr("enqueue", err)
		}
		ids = append(ids, webhookqueue.DeliveryID(webhookID, env.ID))
	}
	return ids, webhookErr("enqueue", tx.Commit())
}

// webhookErr wraps a queue error with its operation; nil stays nil.
func webhookErr(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("webhooks: %s: %w", op, err)
}
