package sqlite

import (
	"context"
	"database/sql"
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
// outbox rows in one transaction, group-committed with concurrent appends
// (dispatch.AttemptRecorder). On a conflict (*domain.ConflictError) nothing is written, the
// transcript neither.
func (s *Store) AppendWithTranscript(ctx context.Context, messageID string, attempt int, text string, envs ...events.Envelope) error {
	if len(envs) == 0 {
		return nil
	}
	id := s.TranscriptID(messageID, attempt)
	return s.appendWith(ctx, envs, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO transcripts (id, message_id, attempt, text, created_us) VALUES (?, ?, ?, ?, ?)`,
			id, messageID, attempt, text, time.Now().UTC().UnixMicro()); err != nil {
			return fmt.Errorf("sqlite: save transcript %s: %w", id, err)
		}
		return nil
	})
}
