package mariadb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/posthaste/posthaste/domain/submission"
	"github.com/posthaste/posthaste/projections"
)

// ErrNoBody is returned by Body for an unknown body id.
var ErrNoBody = errors.New("mariadb: no such body")

// Accept stores a submission's body, appends its events with their outbox rows and inserts
// its extra rows in one transaction (submission.Acceptor): when it returns nil the client may
// be told 250. Concurrent acceptances are group-committed: the accept committers write many
// of them in one transaction (multi-row INSERTs, one durable commit), so a busy server needs
// a few connections for acceptance instead of one per client. When a group fails on a
// statement, each of its acceptances is retried alone so only the faulty one fails.
func (s *Store) Accept(ctx context.Context, a submission.Acceptance) error {
	rows, size, err := encode(a.Events)
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		return errors.New("mariadb: accept: no events")
	}
	if _, err := submission.GroupRows(a.Rows); err != nil {
		return err
	}
	req := &acceptReq{ctx: ctx, a: a, rows: rows, size: size + len(a.Body), done: make(chan struct{})}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrClosed
	}
	s.acceptOnce.Do(func() {
		s.acceptQ = make(chan *acceptReq, 4*defaultMaxBatch)
		for i := 0; i < max(acceptCommitters, s.opts.committers); i++ {
			s.wg.Add(1)
			go s.acceptCommitter()
		}
	})
	select {
	case s.acceptQ <- req:
		s.mu.RUnlock()
	case <-ctx.Done():
		s.mu.RUnlock()
		return fmt.Errorf("mariadb: accept: %w", ctx.Err())
	}
	// Once queued the request is always answered; returning early would hide whether it committed.
	<-req.done
	return req.err
}

// acceptReq is one Accept waiting for a group commit.
type acceptReq struct {
	ctx  context.Context
	a    submission.Acceptance
	rows []row
	size int // stored bytes: events and body
	err  error
	done chan struct{}
}

// maxAcceptGroup bounds the acceptances of one group transaction.
const maxAcceptGroup = 100

// acceptCommitters is the least number of acceptance transactions that run at once: while one
// waits for its durable commit, the next group is being written.
const acceptCommitters = 4

// acceptCommitter groups waiting acceptances into one transaction, like committer for appends.
func (s *Store) acceptCommitter() {
	defer s.wg.Done()
	for {
		var first *acceptReq
		select {
		case first = <-s.acceptQ:
		case <-s.done:
			for { // Close waits for in-flight sends, so this is everything left
				select {
				case r := <-s.acceptQ:
					s.acceptGroup([]*acceptReq{r})
				default:
					return
				}
			}
		}
		group, size := []*acceptReq{first}, first.size
	fill:
		for len(group) < maxAcceptGroup && size < maxStatementBytes {
			select {
			case r := <-s.acceptQ:
				group = append(group, r)
				size += r.size
			default:
				break fill
			}
		}
		s.acceptGroup(group)
	}
}

// acceptGroup writes the live requests of a group and answers every request, even on panic.
func (s *Store) acceptGroup(group []*acceptReq) {
	answered := false
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("mariadb: accept group panicked", "panic", p, "stack", string(debug.Stack()))
			if !answered {
				for _, r := range group {
					r.err = fmt.Errorf("mariadb: accept: internal error: %v", p)
					close(r.done)
				}
			}
		}
	}()
	var live []*acceptReq
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.err = fmt.Errorf("mariadb: accept: %w", err)
			continue
		}
		live = append(live, r)
	}
	if len(live) > 0 {
		committing, err := s.writeAccepts(live)
		switch {
		case err == nil:
		case committing:
			// Not retried: after a failed COMMIT the outcome is unknown.
			for _, r := range live {
				r.err = err
			}
		case len(live) > 1 || isLockFailure(err):
			// Rolled back before the commit: retry each alone, so only a faulty one fails.
			for _, r := range live {
				r.err = s.acceptAlone(r)
			}
		default:
			live[0].err = s.acceptErr(live[0], err)
		}
	}
	answered = true
	for _, r := range group {
		close(r.done)
	}
}

// acceptAlone writes one acceptance in its own transaction, retrying deadlock victims.
func (s *Store) acceptAlone(r *acceptReq) error {
	for attempt := 1; ; attempt++ {
		_, err := s.writeAccepts([]*acceptReq{r})
		if isLockFailure(err) && attempt < 3 {
			time.Sleep(time.Duration(attempt) * time.Millisecond)
			continue
		}
		return s.acceptErr(r, err)
	}
}

// acceptErr names a stream clash of a lone acceptance as *domain.ConflictError.
func (s *Store) acceptErr(r *acceptReq, err error) error {
	if isDup(err) && strings.Contains(err.Error(), "events_stream") {
		return s.classifyDup(r.rows, err)
	}
	return err
}

// writeAccepts writes reqs in one transaction: bodies, events, outbox rows and extra rows, each
// as few multi-row INSERTs as the statement size allows. committing reports that err came
// from COMMIT (the outcome is then unknown).
func (s *Store) writeAccepts(reqs []*acceptReq) (committing bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), defaultTxTimeout)
	defer cancel()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("mariadb: accept: begin: %w", err)
	}
	defer func() {
		if err != nil && !committing {
			_ = tx.Rollback()
		}
	}()
	now := time.Now().UTC().UnixMicro()
	for start := 0; start < len(reqs); {
		var b strings.Builder
		b.WriteString(`INSERT INTO bodies (id, server_id, size, data, created_us) VALUES `)
		var args []any
		end, size := start, 0
		for end < len(reqs) && (end == start || size+len(reqs[end].a.Body) <= maxStatementBytes) {
			if end > start {
				b.WriteByte(',')
			}
			b.WriteString("(?,?,?,?,?)")
			a := reqs[end].a
			args = append(args, a.BodyID, a.ServerID, len(a.Body), a.Body, now)
			size += len(a.Body)
			end++
		}
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			return false, fmt.Errorf("mariadb: accept: store body: %w", err)
		}
		start = end
	}
	var all []row
	var extra []submission.Row
	for _, r := range reqs {
		all = append(all, r.rows...)
		extra = append(extra, r.a.Rows...)
	}
	for start := 0; start < len(all); {
		end, size := start, 0
		for end < len(all) && (end == start || size+len(all[end].data) <= maxStatementBytes) {
			size += len(all[end].data)
			end++
		}
		if err := insertEvents(ctx, tx, all[start:end]); err != nil {
			return false, err
		}
		start = end
	}
	if err := insertOutbox(ctx, tx, all); err != nil {
		return false, err
	}
	if err := insertExtraRows(ctx, tx, extra); err != nil {
		return false, fmt.Errorf("mariadb: accept: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return true, fmt.Errorf("mariadb: accept: commit: %w", err)
	}
	return false, nil
}

// insertExtraRows inserts an acceptance's extra rows, one multi-row INSERT per run of the
// same table and columns.
func insertExtraRows(ctx context.Context, tx *sql.Tx, rows []submission.Row) error {
	groups, err := submission.GroupRows(rows)
	if err != nil {
		return err
	}
	for _, g := range groups {
		head := "INSERT INTO " + g.Table + " (" + strings.Join(g.Columns, ", ") + ") VALUES "
		if err := projections.InsertRows(ctx, tx, head, "", g.Values); err != nil {
			return fmt.Errorf("extra rows of %s: %w", g.Table, err)
		}
	}
	return nil
}

// Body returns a stored body (dispatch.Bodies).
func (s *Store) Body(ctx context.Context, id string) ([]byte, error) {
	var data []byte
	err := s.db.QueryRowContext(ctx, `SELECT data FROM bodies WHERE id = ?`, id).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s", ErrNoBody, id)
	}
	if err != nil {
		return nil, fmt.Errorf("mariadb: body %s: %w", id, err)
	}
	return data, nil
}

// SaveTranscript stores an attempt's SMTP transcript (dispatch.Transcripts). Saving the same
// attempt again replaces it, so a retried write is harmless.
func (s *Store) SaveTranscript(ctx context.Context, messageID string, attempt int, text string) (string, error) {
	id := messageID + "." + strconv.Itoa(attempt)
	_, err := s.db.ExecContext(ctx, `REPLACE INTO transcripts (id, message_id, attempt, text, created_us) VALUES (?, ?, ?, ?, ?)`,
		id, messageID, attempt, text, time.Now().UTC().UnixMicro())
	if err != nil {
		return "", fmt.Errorf("mariadb: save transcript %s: %w", id, err)
	}
	return id, nil
}

// Transcript returns a stored transcript by id.
func (s *Store) Transcript(ctx context.Context, id string) (string, error) {
	var text string
	err := s.db.QueryRowContext(ctx, `SELECT text FROM transcripts WHERE id = ?`, id).Scan(&text)
	if err != nil {
		return "", fmt.Errorf("mariadb: transcript %s: %w", id, err)
	}
	return text, nil
}
