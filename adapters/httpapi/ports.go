package httpapi

import (
	"context"
	"time"

	"github.com/posthaste/posthaste/domain/submission"
)

// Idempotent is a stored idempotency key: the hash of the first request and, once it
// finished, its response (Status 0 while it runs).
type Idempotent = submission.IdempotencyRecord

// Store keeps the API's own rows (sqlstore.API).
//
// Contract: NewPostalIDs gives n new, unique integer ids (increasing within a process, with
// gaps) and writes nothing: the caller makes them part of the acceptance
// (submission.Submission.PostalIDs), whose transaction records each id with its message and
// token, so an id is found by MessageByID exactly when its message was accepted. Reserve
// inserts a pending key atomically: of concurrent callers with one key exactly one gets
// reserved true. Expire deletes the keys created more than ttl before now and says how many.
type Store interface {
	NewPostalIDs(ctx context.Context, n int) ([]int64, error)
	MessageByID(ctx context.Context, serverID string, id int64) (messageID, token string, found bool, err error)
	IDOf(ctx context.Context, messageID string) (id int64, token string, found bool, err error)
	Reserve(ctx context.Context, serverID, key, hash string, now time.Time, ttl time.Duration) (Idempotent, bool, error)
	Lookup(ctx context.Context, serverID, key string) (Idempotent, bool, error)
	Complete(ctx context.Context, serverID, key string, status int, response []byte) error
	Release(ctx context.Context, serverID, key string) error
	Expire(ctx context.Context, now time.Time, ttl time.Duration) (int64, error)
}
