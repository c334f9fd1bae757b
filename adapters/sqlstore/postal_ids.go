package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// IDBlock is how many Postal integer ids a process reserves at once. Ids of a block not used
// before the process stops are never given out: ids are unique and increase within a process,
// with gaps.
const IDBlock = 1000

// NewPostalIDs gives n new, unique integer ids, in increasing order, from the block the
// process reserved in api_id_blocks (one short transaction per IDBlock ids), reserving
// further blocks as needed. Nothing else is written: the caller puts the ids in the
// acceptance (submission.Acceptance.PostalIDs), which records them.
func (a *API) NewPostalIDs(ctx context.Context, n int) ([]int64, error) {
	a.idMu.Lock()
	defer a.idMu.Unlock()
	out := make([]int64, 0, n)
	for len(out) < n {
		if a.idNext >= a.idEnd {
			size := max(a.block, int64(n-len(out)))
			first, err := a.reserveBlock(ctx, size)
			if err != nil {
				return nil, err
			}
			a.idNext, a.idEnd = first, first+size
		}
		out = append(out, a.idNext)
		a.idNext++
	}
	return out, nil
}

// reserveBlock reserves size ids in api_id_blocks and returns the first. The block starts past
// every id already in api_message_ids (ids given by auto-increment before blocks existed).
func (a *API) reserveBlock(ctx context.Context, size int64) (first int64, err error) {
	db, d := a.s.w, a.s.d
	if _, err := db.ExecContext(ctx, d.InsertIgnore()+" INTO api_id_blocks (name, next_id) VALUES ('message', 1)"); err != nil {
		return 0, fmt.Errorf("sqlstore: reserve postal ids: %w", err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: reserve postal ids: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err := tx.QueryRowContext(ctx, "SELECT next_id FROM api_id_blocks WHERE name = 'message'"+d.lockingRead()).Scan(&first); err != nil {
		return 0, fmt.Errorf("sqlstore: reserve postal ids: %w", err)
	}
	var top int64
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM api_message_ids").Scan(&top); err != nil {
		return 0, fmt.Errorf("sqlstore: reserve postal ids: %w", err)
	}
	first = max(first, top+1)
	if _, err := tx.ExecContext(ctx, "UPDATE api_id_blocks SET next_id = ? WHERE name = 'message'", first+size); err != nil {
		return 0, fmt.Errorf("sqlstore: reserve postal ids: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("sqlstore: reserve postal ids: commit: %w", err)
	}
	return first, nil
}

// MessageByID maps a Postal integer id of serverID to its message stream id and token.
// found is false for an unknown id or one of another server.
func (a *API) MessageByID(ctx context.Context, serverID string, id int64) (messageID, token string, found bool, err error) {
	err = a.s.w.QueryRowContext(ctx, "SELECT message_id, token FROM api_message_ids WHERE id = ? AND server_id = ?", id, serverID).Scan(&messageID, &token)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, fmt.Errorf("sqlstore: message by postal id: %w", err)
	}
	return messageID, token, true, nil
}

// IDOf returns the Postal integer id and token of a message stream (found false when it has
// none: the message was not sent through the API).
func (a *API) IDOf(ctx context.Context, messageID string) (id int64, token string, found bool, err error) {
	err = a.s.w.QueryRowContext(ctx, "SELECT id, token FROM api_message_ids WHERE message_id = ?", messageID).Scan(&id, &token)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", false, nil
	}
	if err != nil {
		return 0, "", false, fmt.Errorf("sqlstore: postal id of: %w", err)
	}
	return id, token, true, nil
}
