package httpapi

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// SQLStore keeps the API's own rows (integer message ids, idempotency keys) in the platform's
// SQL database, on MariaDB ("mysql") or SQLite ("sqlite"). Tables: migrations *_api.sql.
//
// AssignIDs is group-committed: concurrent calls share one transaction (one durable commit for
// many requests), written by a single goroutine started on first use.
type SQLStore struct {
	db      *sql.DB
	dialect string

	once sync.Once
	reqs chan *idReq
}

// idReq is one AssignIDs call waiting for the group commit.
type idReq struct {
	ctx        context.Context
	serverID   string
	messageIDs []string
	tokens     []string
	now        time.Time
	ids        []int64
	done       chan error
}

// maxGroup bounds how many AssignIDs calls share one transaction.
const maxGroup = 200

// maxGroupRows bounds the rows of one group (placeholders of one statement).
const maxGroupRows = 2000

// NewSQLStore refuses a nil database or an unknown dialect.
func NewSQLStore(db *sql.DB, dialect string) (*SQLStore, error) {
	if db == nil {
		return nil, errors.New("httpapi: new store: nil database")
	}
	if dialect != "mysql" && dialect != "sqlite" {
		return nil, fmt.Errorf("httpapi: new store: unknown dialect %q", dialect)
	}
	return &SQLStore{db: db, dialect: dialect}, nil
}

func (s *SQLStore) insertIgnore() string {
	if s.dialect == "mysql" {
		return "INSERT IGNORE"
	}
	return "INSERT OR IGNORE"
}

// AssignIDs gives each message stream an integer id and token, in order. The rows are durable
// when it returns nil.
func (s *SQLStore) AssignIDs(ctx context.Context, serverID string, messageIDs, tokens []string, now time.Time) ([]int64, error) {
	if len(messageIDs) != len(tokens) {
		return nil, errors.New("httpapi: assign ids: ids and tokens differ in length")
	}
	s.once.Do(func() {
		s.reqs = make(chan *idReq, maxGroup)
		committers := 1 // SQLite has one writer
		if s.dialect == "mysql" {
			committers = 3 // MariaDB group-commits concurrent transactions itself
		}
		for i := 0; i < committers; i++ {
			go s.commitLoop()
		}
	})
	r := &idReq{ctx: ctx, serverID: serverID, messageIDs: messageIDs, tokens: tokens, now: now, done: make(chan error, 1)}
	select {
	case s.reqs <- r:
	case <-ctx.Done():
		return nil, fmt.Errorf("httpapi: assign ids: %w", ctx.Err())
	}
	// Once queued, wait for the commit whatever ctx does: the caller must learn the outcome.
	if err := <-r.done; err != nil {
		return nil, err
	}
	return r.ids, nil
}

// commitLoop writes queued AssignIDs calls, many per transaction. A failed group is retried
// one call at a time, so one bad call cannot fail the others.
func (s *SQLStore) commitLoop() {
	for first := range s.reqs {
		group := []*idReq{first}
		rows := len(first.messageIDs)
	fill:
		for len(group) < maxGroup && rows < maxGroupRows {
			select {
			case r := <-s.reqs:
				group = append(group, r)
				rows += len(r.messageIDs)
			default:
				break fill
			}
		}
		if err := s.writeGroup(group); err != nil && len(group) > 1 {
			for _, r := range group {
				r.done <- s.writeGroup([]*idReq{r})
			}
			continue
		} else {
			for _, r := range group {
				r.done <- err
			}
		}
	}
}

func (s *SQLStore) writeGroup(group []*idReq) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("httpapi: assign ids: panic: %v", v)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("httpapi: assign ids: %w", err)
	}
	defer tx.Rollback()
	// One multi-row INSERT, then one SELECT of the ids given (auto-increment values of a
	// multi-row insert are not promised to be consecutive under every lock mode).
	var ins strings.Builder
	ins.WriteString("INSERT INTO api_message_ids (message_id, server_id, token, created_us) VALUES ")
	var args, keys []any
	for _, r := range group {
		for i, id := range r.messageIDs {
			if len(args) > 0 {
				ins.WriteString(", ")
			}
			ins.WriteString("(?, ?, ?, ?)")
			args = append(args, id, r.serverID, r.tokens[i], r.now.UnixMicro())
			keys = append(keys, id)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, ins.String(), args...); err != nil {
		return fmt.Errorf("httpapi: assign ids: %w", err)
	}
	rows, err := tx.QueryContext(ctx, "SELECT message_id, id FROM api_message_ids WHERE message_id IN (?"+strings.Repeat(", ?", len(keys)-1)+")", keys...)
	if err != nil {
		return fmt.Errorf("httpapi: assign ids: %w", err)
	}
	got := make(map[string]int64, len(keys))
	for rows.Next() {
		var mid string
		var id int64
		if err := rows.Scan(&mid, &id); err != nil {
			rows.Close()
			return fmt.Errorf("httpapi: assign ids: %w", err)
		}
		got[mid] = id
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("httpapi: assign ids: %w", err)
	}
	for _, r := range group {
		r.ids = make([]int64, len(r.messageIDs))
		for i, id := range r.messageIDs {
			if r.ids[i] = got[id]; r.ids[i] == 0 {
				return fmt.Errorf("httpapi: assign ids: no id for %s", id)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("httpapi: assign ids: %w", err)
	}
	return nil
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
