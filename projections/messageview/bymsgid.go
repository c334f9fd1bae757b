package messageview

import (
	"context"
	"fmt"
	"strings"
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
// it (NormalizeMsgID, cut to the column's length), is msgID and whose recipient is one of
// rcpts (compared in lower case; nil or empty: any recipient), queued at or after since,
// oldest first, at most limit (≤ 0: 1000). It is one read on the index message_view_msgid
// (the rows of one Message-ID are the recipients of one submission; the recipient filter
// runs on those rows, so a large submission does not crowd the wanted recipient out of
// the limit). It serves the inbound intake's Message-ID fallback (domain/inbound.MessageIndex,
// adapted in cmd/posthaste); the view lags the log, which that use tolerates.
func (r *Reader) ByMessageID(ctx context.Context, msgID string, rcpts []string, since time.Time, limit int) ([]MessageRef, error) {
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
	q := `SELECT message_id, server_id, rcpt_to FROM message_view WHERE msgid = ? AND queued_us >= ?`
	args := []any{id, sinceUS}
	seen := map[string]bool{}
	var in []string
	for _, a := range rcpts {
		a = cut(strings.ToLower(strings.TrimSpace(a)), maxAddr)
		if a == "" || seen[a] {
			continue
		}
		seen[a] = true
		in = append(in, "?")
		args = append(args, a)
	}
	if len(in) > 0 {
		q += ` AND rcpt_to IN (` + strings.Join(in, ", ") + `)`
	}
	q += ` ORDER BY queued_us, message_id LIMIT ?`
	args = append(args, limit)
	rows, err := r.db.QueryContext(ctx, q, args...)
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
