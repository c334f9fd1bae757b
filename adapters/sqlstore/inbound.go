package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/posthaste/posthaste/domain/inbound"
)

// Inbound keeps the reports received by the MX listener (inbound.Store) in the
// inbound_reports table; the intake rules live in domain/inbound.
type Inbound struct{ s *Store }

var _ inbound.Store = (*Inbound)(nil)

// Inbound returns the store of inbound reports.
func (s *Store) Inbound() *Inbound { return s.inbound }

// SaveReport stores a report received by the MX listener (inbound.Store). It is durable when it
// returns nil (the database's durable commit: InnoDB flushed at commit, SQLite synchronous=FULL).
func (x *Inbound) SaveReport(ctx context.Context, r inbound.Report) error {
	raw := r.Raw
	if raw == nil {
		raw = []byte{}
	}
	_, err := x.s.w.ExecContext(ctx, `INSERT INTO inbound_reports
		(id, received_us, mail_from, rcpt_to, client_ip, tls, size, raw, status, kind, message_id, summary, processed_us)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
		r.ID, r.ReceivedAt.UTC().UnixMicro(), r.MailFrom, strings.Join(r.RcptTo, ","), r.ClientIP, r.TLS,
		len(raw), raw, r.Status, r.Kind, r.MessageID, r.Summary)
	if err != nil {
		return fmt.Errorf("sqlstore: save report %s: %w", r.ID, err)
	}
	return nil
}

// FinishReport records the outcome of processing on a pending report.
func (x *Inbound) FinishReport(ctx context.Context, id, status, kind, messageID, summary string, at time.Time) (bool, error) {
	res, err := x.s.w.ExecContext(ctx, `UPDATE inbound_reports SET status = ?, kind = ?, message_id = ?, summary = ?, processed_us = ?
		WHERE id = ? AND status = ?`, status, kind, messageID, summary, at.UTC().UnixMicro(), id, inbound.StatusPending)
	if err != nil {
		return false, fmt.Errorf("sqlstore: finish report %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlstore: finish report %s: %w", id, err)
	}
	return n == 1, nil
}

const reportColumns = `id, received_us, mail_from, rcpt_to, client_ip, tls, size, status, kind, message_id, summary, processed_us`

func scanReport(sc interface{ Scan(...any) error }, withRaw bool) (inbound.Report, error) {
	var (
		r               inbound.Report
		recv, processed int64
		rcpts           string
		tls             bool
	)
	dest := []any{&r.ID, &recv, &r.MailFrom, &rcpts, &r.ClientIP, &tls, &r.Size, &r.Status, &r.Kind, &r.MessageID, &r.Summary, &processed}
	if withRaw {
		dest = append(dest, &r.Raw)
	}
	if err := sc.Scan(dest...); err != nil {
		return inbound.Report{}, err
	}
	r.TLS = tls
	r.ReceivedAt = time.UnixMicro(recv).UTC()
	if processed > 0 {
		r.ProcessedAt = time.UnixMicro(processed).UTC()
	}
	if rcpts != "" {
		r.RcptTo = strings.Split(rcpts, ",")
	}
	return r, nil
}

// Report returns one report with its raw bytes.
func (x *Inbound) Report(ctx context.Context, id string) (inbound.Report, error) {
	r, err := scanReport(x.s.w.QueryRowContext(ctx, `SELECT `+reportColumns+`, raw FROM inbound_reports WHERE id = ?`, id), true)
	if errors.Is(err, sql.ErrNoRows) {
		return inbound.Report{}, fmt.Errorf("sqlstore: report %s: %w", id, inbound.ErrNotFound)
	}
	if err != nil {
		return inbound.Report{}, fmt.Errorf("sqlstore: report %s: %w", id, err)
	}
	return r, nil
}

// Reports lists reports without their raw bytes, newest first.
func (x *Inbound) Reports(ctx context.Context, f inbound.Filter) ([]inbound.Report, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q := `SELECT ` + reportColumns + ` FROM inbound_reports`
	var args []any
	if f.Status != "" {
		q += ` WHERE status = ?`
		args = append(args, f.Status)
	}
	q += ` ORDER BY received_us DESC, id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := x.s.w.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: reports: %w", err)
	}
	defer rows.Close()
	var out []inbound.Report
	for rows.Next() {
		r, err := scanReport(rows, false)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: reports: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: reports: %w", err)
	}
	return out, nil
}

// PendingReports returns the ids of pending reports received at or before t, oldest first.
func (x *Inbound) PendingReports(ctx context.Context, t time.Time, limit int) ([]string, error) {
	rows, err := x.s.w.QueryContext(ctx, `SELECT id FROM inbound_reports WHERE status = ? AND received_us <= ?
		ORDER BY received_us, id LIMIT ?`, inbound.StatusPending, t.UTC().UnixMicro(), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: pending reports: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("sqlstore: pending reports: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
