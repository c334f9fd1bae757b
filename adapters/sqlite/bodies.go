package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/posthaste/posthaste/domain/submission"
	"github.com/posthaste/posthaste/projections"
)

// ErrNoBody is returned by Body for an unknown body id.
var ErrNoBody = errors.New("sqlite: no such body")

// Accept stores a submission's body, appends its events with their outbox rows and inserts
// its extra rows in one transaction (submission.Acceptor), group-committed with concurrent
// appends: when it returns nil the client may be told 250.
func (s *Store) Accept(ctx context.Context, a submission.Acceptance) error {
	extra, err := submission.GroupRows(a.Rows)
	if err != nil {
		return err
	}
	return s.appendWith(ctx, a.Events, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO bodies (id, server_id, size, data, created_us) VALUES (?, ?, ?, ?, ?)`,
			a.BodyID, a.ServerID, len(a.Body), a.Body, time.Now().UTC().UnixMicro())
		if err != nil {
			return fmt.Errorf("sqlite: accept: store body: %w", err)
		}
		for _, g := range extra {
			head := "INSERT INTO " + g.Table + " (" + strings.Join(g.Columns, ", ") + ") VALUES "
			if err := projections.InsertRows(ctx, tx, head, "", g.Values); err != nil {
				return fmt.Errorf("sqlite: accept: extra rows of %s: %w", g.Table, err)
			}
		}
		return nil
	})
}

// Body returns a stored body (dispatch.Bodies).
func (s *Store) Body(ctx context.Context, id string) ([]byte, error) {
	var data []byte
	err := s.w.QueryRowContext(ctx, `SELECT data FROM bodies WHERE id = ?`, id).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s", ErrNoBody, id)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: body %s: %w", id, err)
	}
	return data, nil
}

// SaveTranscript stores an attempt's SMTP transcript (dispatch.Transcripts). Saving the same
// attempt again replaces it.
func (s *Store) SaveTranscript(ctx context.Context, messageID string, attempt int, text string) (string, error) {
	id := messageID + "." + strconv.Itoa(attempt)
	_, err := s.w.ExecContext(ctx, `INSERT OR REPLACE INTO transcripts (id, message_id, attempt, text, created_us) VALUES (?, ?, ?, ?, ?)`,
		id, messageID, attempt, text, time.Now().UTC().UnixMicro())
	if err != nil {
		return "", fmt.Errorf("sqlite: save transcript %s: %w", id, err)
	}
	return id, nil
}

// Transcript returns a stored transcript by id.
func (s *Store) Transcript(ctx context.Context, id string) (string, error) {
	var text string
	if err := s.w.QueryRowContext(ctx, `SELECT text FROM transcripts WHERE id = ?`, id).Scan(&text); err != nil {
		return "", fmt.Errorf("sqlite: transcript %s: %w", id, err)
	}
	return text, nil
}
