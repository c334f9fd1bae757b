package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/posthaste/posthaste/domain/delivery"
	"github.com/posthaste/posthaste/events"
)

// AppendWithTranscript stores an attempt's SMTP transcript under delivery.TranscriptID and
// appends its events with their outbox rows in one transaction, group-committed with
// concurrent appends (delivery.AttemptRecorder): one durable commit per attempt instead of
// two. On a conflict (*domain.ConflictError) nothing is written, the transcript neither, so the
// loser of a race never overwrites the winner's transcript.
func (s *Store) AppendWithTranscript(ctx context.Context, messageID string, attempt int, text string, envs ...events.Envelope) error {
	if len(envs) == 0 {
		return nil
	}
	rows, size, err := encode("append", envs)
	if err != nil {
		return err
	}
	t := &transcript{id: delivery.TranscriptID(messageID, attempt), messageID: messageID, attempt: attempt, text: text}
	return s.submit(s.appends, &request{op: "append", ctx: ctx, rows: rows, transcript: t, size: size + len(text)})
}

// SaveTranscript stores an attempt's SMTP transcript alone and returns its id
// (delivery.Transcripts); saving the same attempt again replaces it.
//
// It stays beside AppendWithTranscript, which the worker uses instead (the Store is an
// AttemptRecorder), only because WorkerConfig.Transcripts is typed by delivery.Transcripts:
// drop it when that port asks for an AttemptRecorder. It writes with the same statement.
func (s *Store) SaveTranscript(ctx context.Context, messageID string, attempt int, text string) (string, error) {
	t := transcript{id: delivery.TranscriptID(messageID, attempt), messageID: messageID, attempt: attempt, text: text}
	if err := s.insertTranscripts(ctx, s.w, []transcript{t}, time.Now().UTC().UnixMicro()); err != nil {
		return "", err
	}
	return t.id, nil
}

// Transcript returns a stored transcript by id.
func (s *Store) Transcript(ctx context.Context, id string) (string, error) {
	var text string
	if err := s.w.QueryRowContext(ctx, `SELECT text FROM transcripts WHERE id = ?`, id).Scan(&text); err != nil {
		return "", fmt.Errorf("sqlstore: transcript %s: %w", id, err)
	}
	return text, nil
}
