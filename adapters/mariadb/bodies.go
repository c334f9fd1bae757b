package mariadb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/posthaste/posthaste/domain/submission"
)

// ErrNoBody is returned by Body for an unknown body id.
var ErrNoBody = errors.New("mariadb: no such body")

// Accept stores a submission's body and appends its events with their outbox rows in one
// transaction (submission.Acceptor): when it returns nil the client may be told 250.
func (s *Store) Accept(ctx context.Context, a submission.Acceptance) (err error) {
	rows, _, err := encode(a.Events)
	if err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("mariadb: accept: begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if _, err := tx.ExecContext(ctx, `INSERT INTO bodies (id, server_id, size, data, created_us) VALUES (?, ?, ?, ?, ?)`,
		a.BodyID, a.ServerID, len(a.Body), a.Body, time.Now().UTC().UnixMicro()); err != nil {
		return fmt.Errorf("mariadb: accept: store body: %w", err)
	}
	if err := insertEvents(ctx, tx, rows); err != nil {
		if isDup(err) {
			return s.classifyDup(rows, err)
		}
		return err
	}
	if err := insertOutbox(ctx, tx, rows); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("mariadb: accept: commit: %w", err)
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
