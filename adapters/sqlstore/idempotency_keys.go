package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/posthaste/posthaste/domain/submission"
)

// Reserve claims an idempotency key for a request with hash. When the key is new (or its
// previous use is older than ttl) it records a pending row and returns reserved true; of
// concurrent callers with one key exactly one gets it. Otherwise it returns the existing row:
// Status 0 while the first request still runs.
func (a *API) Reserve(ctx context.Context, serverID, key, hash string, now time.Time, ttl time.Duration) (submission.IdempotencyRecord, bool, error) {
	if _, err := a.s.w.ExecContext(ctx, "DELETE FROM idempotency_keys WHERE server_id = ? AND idem_key = ? AND created_us < ?",
		serverID, key, now.Add(-ttl).UnixMicro()); err != nil {
		return submission.IdempotencyRecord{}, false, fmt.Errorf("sqlstore: reserve key: %w", err)
	}
	res, err := a.s.w.ExecContext(ctx, a.s.d.InsertIgnore()+" INTO idempotency_keys (server_id, idem_key, request_hash, status, created_us) VALUES (?, ?, ?, 0, ?)",
		serverID, key, hash, now.UnixMicro())
	if err != nil {
		return submission.IdempotencyRecord{}, false, fmt.Errorf("sqlstore: reserve key: %w", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 1 {
		return submission.IdempotencyRecord{}, true, nil
	}
	got, found, err := a.Lookup(ctx, serverID, key)
	if err != nil {
		return submission.IdempotencyRecord{}, false, err
	}
	if !found { // deleted between the insert and the read (expired or released): try once more
		return a.Reserve(ctx, serverID, key, hash, now, ttl)
	}
	return got, false, nil
}

// Lookup reads an idempotency row.
func (a *API) Lookup(ctx context.Context, serverID, key string) (submission.IdempotencyRecord, bool, error) {
	var it submission.IdempotencyRecord
	var created int64
	err := a.s.w.QueryRowContext(ctx, "SELECT request_hash, status, response, created_us FROM idempotency_keys WHERE server_id = ? AND idem_key = ?",
		serverID, key).Scan(&it.RequestHash, &it.Status, &it.Response, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return submission.IdempotencyRecord{}, false, nil
	}
	if err != nil {
		return submission.IdempotencyRecord{}, false, fmt.Errorf("sqlstore: lookup key: %w", err)
	}
	it.Created = time.UnixMicro(created).UTC()
	return it, true, nil
}

// Complete stores the response of the request that reserved key.
func (a *API) Complete(ctx context.Context, serverID, key string, status int, response []byte) error {
	if _, err := a.s.w.ExecContext(ctx, "UPDATE idempotency_keys SET status = ?, response = ? WHERE server_id = ? AND idem_key = ?",
		status, response, serverID, key); err != nil {
		return fmt.Errorf("sqlstore: complete key: %w", err)
	}
	return nil
}

// Release forgets a pending key (the request failed temporarily: a retry may run again).
func (a *API) Release(ctx context.Context, serverID, key string) error {
	if _, err := a.s.w.ExecContext(ctx, "DELETE FROM idempotency_keys WHERE server_id = ? AND idem_key = ? AND status = 0", serverID, key); err != nil {
		return fmt.Errorf("sqlstore: release key: %w", err)
	}
	return nil
}

// Expire deletes keys older than ttl (run now and then; Reserve also ignores them).
func (a *API) Expire(ctx context.Context, now time.Time, ttl time.Duration) (int64, error) {
	res, err := a.s.w.ExecContext(ctx, "DELETE FROM idempotency_keys WHERE created_us < ?", now.Add(-ttl).UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("sqlstore: expire keys: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
