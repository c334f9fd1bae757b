package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/posthaste/posthaste/adapters/sqlstore"
	"github.com/posthaste/posthaste/adapters/sqlstore/sqlstoretest"
	"github.com/posthaste/posthaste/domain/submission"
	"github.com/posthaste/posthaste/domain/submission/submissiontest"
	"github.com/posthaste/posthaste/events"
)

// TestAcceptorSuite runs the submission.Acceptor contract on both backends, Postal ids
// included (recorded in api_message_ids).
func TestAcceptorSuite(t *testing.T) {
	for _, b := range sqlstoretest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			submissiontest.RunAcceptorSuite(t, func(t *testing.T) submissiontest.Fixture {
				s := b.Open(t)
				var n atomic.Int64
				return submissiontest.Fixture{
					Acceptor: s,
					ReadStream: func(ctx context.Context, streamType, streamID string) ([]events.Record, error) {
						return s.ReadStream(ctx, streamType, streamID, 1)
					},
					Body: func(ctx context.Context, bodyID string) ([]byte, bool, error) {
						b, err := s.Body(ctx, bodyID)
						if errors.Is(err, sqlstore.ErrNoBody) {
							return nil, false, nil
						}
						return b, err == nil, err
					},
					PostalID: func(messageID string) submission.PostalID {
						return submission.PostalID{MessageID: messageID, ID: n.Add(1), Token: "t"}
					},
					PostalIDExists: func(ctx context.Context, messageID string) (bool, error) {
						var id int64
						err := s.DB().QueryRowContext(ctx, "SELECT id FROM api_message_ids WHERE message_id = ?", messageID).Scan(&id)
						if errors.Is(err, sql.ErrNoRows) {
							return false, nil
						}
						return err == nil, err
					},
				}
			})
		})
	}
}
