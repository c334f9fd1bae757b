package httpapi

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/posthaste/posthaste/domain/submission"
)

// SQLStore keeps the API's own rows (integer message ids, idempotency keys) in the platform's
// SQL database, on MariaDB ("mysql") or SQLite ("sqlite"). Tables: migrations *_api.sql and
// *_api_id_blocks.sql.
//
// Integer ids come from blocks reserved in api_id_blocks (one short transaction per IDBlock
// ids) and are handed out from memory; the api_message_ids rows are written by the Acceptor
// inside the acceptance transaction (IDRows), so they exist exactly when the messages do.
type SQLStore struct {
	db      *sql.DB
	dialect string

	idMu   sync.Mutex
	idNext int64 // next id of the reserved block
	idEnd  int64 // first id after the block
	block  int64 // ids reserved at a time
}

// IDBlock is how many integer ids a process reserves at once. Ids of a block not used before
// the process stops are never given out: ids are unique and increase within a process, with
// gaps.
const IDBlock = 1000

// NewSQLStore refuses a nil database or an unknown dialect.
func NewSQLStore(db *sql.DB, dialect string) (*SQLStore, error) {
	if db == nil {
		return nil, errors.New("httpapi: new store: nil database")
	}
	if dialect != "mysql" && dialect != "sqlite" {
		return nil, fmt.Errorf("httpapi: new store: unknown dialect %q", dialect)
	}
	return &SQLStore{db: db, dialect: dialect, block: IDBlock}, nil
}

func (s *SQLStore) insertIgnore() string {
	if s.dialect == "mysql" {
		return "INSERT IGNORE"
	}
	return "INSERT OR IGNORE"
}

// idColumns are the columns of an api_message_ids row (submission.Row).
var idColumns = []string{"id", "message_id", "server_id", "token", "created_us"}

// IDRows gives each message stream a new, unique integer id (in order) and returns the
// api_message_ids rows recording id and token, for the acceptance transaction.
func (s *SQLStore) IDRows(ctx context.Context, serverID string, messageIDs, tokens []string, now time.Time) ([]int64, []submission.Row, error) {
	if len(messageIDs) != len(tokens) {
		return nil, nil, errors.New("httpapi: id rows: ids and tokens differ in length")
	}
	ids, err := s.newIDs(ctx, len(messageIDs))
	if err != nil {
		return nil, nil, err
	}
	rows := make([]submission.Row, len(ids))
	for i, id := range ids {
		rows[i] = submission.Row{Table: "api_message_ids", Columns: idColumns,
			Values: []any{id, messageIDs[i], serverID, tokens[i], now.UnixMicro()}}
	}
	return ids, rows, nil
}

// newIDs hands out n ids from the reserved block, reserving further blocks as needed.
func (s *SQLStore) newIDs(ctx context.Context, n int) ([]int64, error) {
	s.idMu.Lock()
	defer s.idMu.Unlock()
	out := make([]int64, 0, n)
	for len(out) < n {
		if s.idNext >= s.idEnd {
			first, err := s.reserveBlock(ctx, max(s.block, int64(n-len(out))))
			if err != nil {
				return nil, err
			}
			s.idNext, s.idEnd = first, first+max(s.block, int64(n-len(out)))
		}
		out = append(out, s.idNext)
		s.idNext++
	}
	return out, nil
}

// reserveBlock reserves size ids in api_id_blocks and returns the first. The block starts past
// every id already in api_message_ids (ids given by auto-increment before blocks existed).
func (s *SQLStore) reserveBlock(ctx context.Context, size int64) (first int64, err error) {
	if _, err := s.db.ExecContext(ctx, s.insertIgnore()+" INTO api_id_blocks (name, next_id) VALUES ('message', 1)"); err != nil {
		return 0, fmt.Errorf("httpapi: reserve ids: %w", err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("httpapi: reserve ids: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	lock := ""
	if s.dialect == "mysql" {
		lock = " FOR UPDATE"
	}
	if err := tx.QueryRowContext(ctx, "SELECT next_id FROM api_id_blocks WHERE name = 'message'"+lock).Scan(&first); err != nil {
		return 0, fmt.Errorf("httpapi: reserve ids: %w", err)
	}
	var top int64
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM api_message_ids").Scan(&top); err != nil {
		return 0, fmt.Errorf("httpapi: reserve ids: %w", err)
	}
	first = max(first, top+1)
	if _, err := tx.ExecContext(ctx, "UPDATE api_id_blocks SET next_id = ? WHERE name = 'message'", first+size); err != nil {
		return 0, fmt.Errorf("httpapi: reserve ids: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("httpapi: reserve ids: commit: %w", err)
	}
	return first, nil
}

// MessageByID maps a Postal integer id of serverID to its message stream id and token.
// found is false for an unknown id or one of another server.
func (s *SQLStore) MessageByID(ctx context.Context, serverID string, id int64) (messageID, token string, found bool, err error) {
	err = s.db.QueryRowContext(ctx, "SELECT message_id, token FROM api_message_ids WHERE id = ? AND server_id = ?", id, serverID).Scan(&messageID, &token)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, fmt.Errorf("httpapi: message by id: %w", err)
	}
	return messageID, token, true, nil
}

// IDOf returns the integer id and token of a message stream (found false when it has none:
// the message was not sent through the API).
func (s *SQLStore) IDOf(ctx context.Context, messageID string) (id int64, token string, found bool, err error) {
	err = s.db.QueryRowContext(ctx, "SELECT id, token FROM api_message_ids WHERE message_id = ?", messageID).Scan(&id, &token)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", false, nil
	}
	if err != nil {
		return 0, "", false, fmt.Errorf("httpapi: id of: %w", err)
	}
	return id, token, true, nil
}

// Reserve claims an idempotency key for a request with hash. When the key is new (or its
// previous use is older than ttl) it records a pending row and returns reserved true. Otherwise
// it returns the existing row: Status 0 while the first request still runs.
func (s *SQLStore) Reserve(ctx context.Context, serverID, key, hash string, now time.Time, ttl time.Duration) (Idempotent, bool, error) {
	if _, err := s.db.ExecContext(ctx, "DELETE FROM idempotency_keys WHERE server_id = ? AND idem_key = ? AND created_us < ?",
		serverID, key, now.Add(-ttl).UnixMicro()); err != nil {
		return Idempotent{}, false, fmt.Errorf("httpapi: reserve key: %w", err)
	}
	res, err := s.db.ExecContext(ctx, s.insertIgnore()+" INTO idempotency_keys (server_id, idem_key, request_hash, status, created_us) VALUES (?, ?, ?, 0, ?)",
		serverID, key, hash, now.UnixMicro())
	if err != nil {
		return Idempotent{}, false, fmt.Errorf("httpapi: reserve key: %w", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 1 {
		return Idempotent{}, true, nil
	}
	got, found, err := s.Lookup(ctx, serverID, key)
	if err != nil {
		return Idempotent{}, false, err
	}
	if !found { // deleted between the insert and the read (expired or released): try once more
		return s.Reserve(ctx, serverID, key, hash, now, ttl)
	}
	return got, false, nil
}

// Lookup reads an idempotency row.
func (s *SQLStore) Lookup(ctx context.Context, serverID, key string) (Idempotent, bool, error) {
	var it Idempotent
	var created int64
	err := s.db.QueryRowContext(ctx, "SELECT request_hash, status, response, created_us FROM idempotency_keys WHERE server_id = ? AND idem_key = ?",
		serverID, key).Scan(&it.RequestHash, &it.Status, &it.Response, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Idempotent{}, false, nil
	}
	if err != nil {
		return Idempotent{}, false, fmt.Errorf("httpapi: lookup key: %w", err)
	}
	it.Created = time.UnixMicro(created).UTC()
	return it, true, nil
}

// Complete stores the response of the request that reserved key.
func (s *SQLStore) Complete(ctx context.Context, serverID, key string, status int, response []byte) error {
	if _, err := s.db.ExecContext(ctx, "UPDATE idempotency_keys SET status = ?, response = ? WHERE server_id = ? AND idem_key = ?",
		status, response, serverID, key); err != nil {
		return fmt.Errorf("httpapi: complete key: %w", err)
	}
	return nil
}

// Release forgets a pending key (the request failed temporarily: a retry may run again).
func (s *SQLStore) Release(ctx context.Context, serverID, key string) error {
	if _, err := s.db.ExecContext(ctx, "DELETE FROM idempotency_keys WHERE server_id = ? AND idem_key = ? AND status = 0", serverID, key); err != nil {
		return fmt.Errorf("httpapi: release key: %w", err)
	}
	return nil
}

// Expire deletes keys older than ttl (run now and then; Reserve also ignores them).
func (s *SQLStore) Expire(ctx context.Context, now time.Time, ttl time.Duration) (int64, error) {
	res, err := s.db.ExecContext(ctx, "DELETE FROM idempotency_keys WHERE created_us < ?", now.Add(-ttl).UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("httpapi: expire keys: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
