package mariadb_test

import (
	"context"
	"database/sql"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/posthaste/posthaste/adapters/mariadb"
	"github.com/posthaste/posthaste/adapters/mariadb/mariadbtest"
	"github.com/posthaste/posthaste/domain/submission"
	"github.com/posthaste/posthaste/domain/submission/submissiontest"
	"github.com/posthaste/posthaste/events"
)

// TestAcceptorSuite runs the submission.Acceptor contract, extra rows included (written to
// api_message_ids, the table the HTTP API uses them for).
func TestAcceptorSuite(t *testing.T) {
	submissiontest.RunAcceptorSuite(t, func(t *testing.T) submissiontest.Fixture {
		s := mariadbtest.Store(t)
		var n atomic.Int64
		return submissiontest.Fixture{
			Acceptor: s,
			ReadStream: func(ctx context.Context, streamType, streamID string) ([]events.Record, error) {
				return s.ReadStream(ctx, streamType, streamID, 1)
			},
			Body: func(ctx context.Context, bodyID string) ([]byte, bool, error) {
				b, err := s.Body(ctx, bodyID)
				if errors.Is(err, mariadb.ErrNoBody) {
					return nil, false, nil
				}
				return b, err == nil, err
			},
			ExtraRow: func(messageID string) submission.Row {
				return submission.Row{Table: "api_message_ids", Columns: []string{"id", "message_id", "server_id", "token", "created_us"},
					Values: []any{n.Add(1), messageID, "suite-server", "t", int64(0)}}
			},
			RowExists: func(ctx context.Context, messageID string) (bool, error) {
				var id int64
				err := s.DB().QueryRowContext(ctx, "SELECT id FROM api_message_ids WHERE message_id = ?", messageID).Scan(&id)
				if errors.Is(err, sql.ErrNoRows) {
					return false, nil
				}
				return err == nil, err
			},
		}
	})
}
