package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/events"
)

// defaultQueryLimit is the limit of Query, ReadAll and Pending when none is given.
const defaultQueryLimit = 1000

// ReadStream returns the stream's events with version >= fromVersion in version order, with
// their positions (0 while the relay has not stamped them yet).
func (s *Store) ReadStream(ctx context.Context, streamType, streamID string, fromVersion int64) ([]events.Record, error) {
	rows, err := s.r.QueryContext(ctx,
		`SELECT COALESCE(position, 0), data FROM events
		 WHERE stream_type = ? AND stream_id = ? AND stream_version >= ?
		 ORDER BY stream_version`, streamType, streamID, fromVersion)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: read stream %s/%s: %w", streamType, streamID, err)
	}
	recs, err := scanRecords(rows)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: read stream %s/%s: %w", streamType, streamID, err)
	}
	return recs, nil
}

// ReadAll returns up to limit positioned events with position > after, in position order
// (limit <= 0 means 1000). Events the relay has not stamped yet are not returned.
func (s *Store) ReadAll(ctx context.Context, after int64, limit int) ([]events.Record, error) {
	if limit <= 0 {
		limit = defaultQueryLimit
	}
	rows, err := s.r.QueryContext(ctx,
		`SELECT position, data FROM events WHERE position > ? ORDER BY position LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: read all after %d: %w", after, err)
	}
	recs, err := scanRecords(rows)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: read all after %d: %w", after, err)
	}
	return recs, nil
}

// Query returns events matching f: positioned ones by position, then (only when f.After is 0,
// since they have no position to compare) those not yet stamped, in append order. Where
// positions are given at insert there are none of those, and one statement answers.
func (s *Store) Query(ctx context.Context, f domain.EventFilter) ([]events.Record, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = defaultQueryLimit
	}
	where, args := s.filterSQL(f)
	q := `SELECT position, data FROM events WHERE position > ?` + where + ` ORDER BY position LIMIT ?`
	qargs := append(append([]any{f.After}, args...), limit)
	if s.d.positionsAtInsert() {
		rows, err := s.r.QueryContext(ctx, q, qargs...)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: query events: %w", err)
		}
		recs, err := scanRecords(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: query events: %w", err)
		}
		return recs, nil
	}
	// Both reads see one snapshot: the relay stamping an event between them would otherwise
	// hide it from both.
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: query events: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, q, qargs...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: query events: %w", err)
	}
	recs, err := scanRecords(rows)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: query events: %w", err)
	}
	if len(recs) >= limit {
		return recs, nil
	}
	q = `SELECT 0, data FROM events WHERE position IS NULL` + where + ` ORDER BY seq LIMIT ?`
	rows, err = tx.QueryContext(ctx, q, append(args, limit-len(recs))...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: query unpositioned events: %w", err)
	}
	more, err := scanRecords(rows)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: query unpositioned events: %w", err)
	}
	return append(recs, more...), nil
}

// filterSQL returns " AND ..." conditions for every set field of f except After and Limit.
func (s *Store) filterSQL(f domain.EventFilter) (string, []any) {
	var b strings.Builder
	var args []any
	add := func(cond string, vals ...any) {
		b.WriteString(" AND ")
		b.WriteString(cond)
		args = append(args, vals...)
	}
	if f.StreamType != "" {
		add("stream_type = ?", f.StreamType)
	}
	if f.StreamID != "" {
		add("stream_id = ?", f.StreamID)
	}
	if f.ServerID != "" {
		add("server_id = ?", f.ServerID)
	}
	if len(f.Types) > 0 {
		vals := make([]any, len(f.Types))
		for i, t := range f.Types {
			vals[i] = t
		}
		add("type IN ("+strings.TrimSuffix(strings.Repeat("?,", len(f.Types)), ",")+")", vals...)
	}
	if f.ActorType != "" {
		add("actor_type = ?", f.ActorType)
	}
	if f.ActorID != "" {
		add("actor_id = ?", f.ActorID)
	}
	if !f.Since.IsZero() {
		add("occurred_at >= ?", s.d.storedTime(f.Since))
	}
	if !f.Until.IsZero() {
		add("occurred_at < ?", s.d.storedTime(f.Until))
	}
	return b.String(), args
}

func scanRecords(rows *sql.Rows) ([]events.Record, error) {
	defer rows.Close()
	var out []events.Record
	for rows.Next() {
		var pos int64
		var data []byte
		if err := rows.Scan(&pos, &data); err != nil {
			return nil, err
		}
		env, err := events.Unmarshal(data)
		if err != nil {
			return nil, fmt.Errorf("event at position %d: %w", pos, err)
		}
		out = append(out, events.Record{Position: pos, Envelope: env, Data: data})
	}
	return out, rows.Err()
}
