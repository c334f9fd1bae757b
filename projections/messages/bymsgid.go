package messages

import (
	"context"
	"fmt"
	"time"
)

// MessageRef is one message found by its Message-ID header: the message (stream) id, its
// server and its recipient (lower case).
type MessageRef struct {
	ID       string
	ServerID string
	RcptTo   string
}

// ByMessageID returns the messages whose Message-ID header, normalised like the view stores
// it (NormalizeMsgID, cut to the column's length), is msgID, queued at or after since, oldest
// first, at most limit (≤ 0: 1000). It is one read on the index message_view_msgid. It serves
// the inbound intake's Message-ID fallback (domain/inbound.MessageIndex, adapted in
// cmd/posthaste): the view lags the log, which that use tolerates.
func (r *Reader) ByMessageID(ctx context.Context, msgID string, since time.Time, limit int) ([]MessageRef, error) {
	id := cut(NormalizeMsgID(msgID), maxShort)
	if id == "" {
		return nil, nil
	}
	if limit <= 0 {
		limit = 1000
	}
	var sinceUS int64
	if !since.IsZero() {
		sinceUS = since.UTC().UnixMicro()
	}
	rows, err := r.db.QueryContext(ctx, `SELECT message_id, server_id, rcpt_to FROM message_view
		WHERE msgid = ? AND queued_us >= ? ORDER BY queued_us, message_id LIMIT ?`, id, sinceUS, limit)
	if err != nil {
		return nil, fmt.Errorf("messages: by message-id: %w", err)
	}
	defer rows.Close()
	var out []MessageRef
	for rows.Next() {
		var m MessageRef
		if err := rows.Scan(&m.ID, &m.ServerID, &m.RcptTo); err != nil {
			return nil, fmt.Errorf("messages: by message-id: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("messages: by message-id: %w", err)
	}
	return out, nil
}
