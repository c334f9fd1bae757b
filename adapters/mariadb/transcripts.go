package mariadb

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/posthaste/posthaste/events"
)

// TranscriptID is the id SaveTranscript and AppendWithTranscript give the transcript of
// messageID's attempt (dispatch.AttemptRecorder).
func (s *Store) TranscriptID(messageID string, attempt int) string {
	return messageID + "." + strconv.Itoa(attempt)
}

// AppendWithTranscript stores an attempt's SMTP transcript and appends its events with their
// outbox rows in one transaction (dispatch.AttemptRecorder): one durable commit per attempt
// instead of two. On a conflict (*domain.ConflictError) nothing is written, the transcript
// neither, so the loser of a race never overwrites the winner's transcript. Deadlock victims
// are retried.
func (s *Store) AppendWithTranscript(ctx context.Context, messageID string, attempt int, text string, envs ...events.Envelope) error {
	if len(envs) == 0 {
		return nil
	}
	rows, _, err := encode(envs)
	if err != nil {
		return err
	}
	for try := 1; ; try++ {
		err := s.attemptTx(ctx, rows, messageID, attempt, text)
		switch {
		case isDup(err):
			return s.classifyDup(rows, err)
		case isLockFailure(err) && try < 3:
			time.Sleep(time.Duration(try) * time.Millisecond)
		default:
			return err
		}
	}
}

func (s *Store) attemptTx(ctx context.Context, rows []row, messageID string, attempt int, text string) (err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("mariadb: append: begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	id := s.TranscriptID(messageID, attempt)
	if _, err := tx.ExecContext(ctx, `REPLACE INTO transcripts (id, message_id, attempt, text, created_us) VALUES (?, ?, ?, ?, ?)`,
		id, messageID, attempt, text, time.Now().UTC().UnixMicro()); err != nil {
		return fmt.Errorf("mariadb: save transcript %s: %w", id, err)
	}
	if err := insertEvents(ctx, tx, rows); err != nil {
		return err
	}
	if err := insertOutbox(ctx, tx, rows); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("mariadb: append: commit: %w", err)
	}
	return nil
}
