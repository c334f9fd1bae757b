package sqlstore

import (
	"context"
	"errors"

	"github.com/posthaste/posthaste/domain/submission"
)

// Accept stores a submission's body, appends its events with their outbox rows and records
// its Postal ids in one transaction (submission.Acceptor): when it returns nil the client may
// be told 250. Concurrent acceptances are group-committed (many bodies, events and ids per
// multi-row INSERT, one durable commit), so a busy server needs a few connections for
// acceptance instead of one per client; a faulty acceptance fails alone.
func (s *Store) Accept(ctx context.Context, a submission.Acceptance) error {
	rows, size, err := encode("accept", a.Events)
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		return errors.New("sqlstore: accept: no events")
	}
	return s.submit(s.accepts, &request{op: "accept", ctx: ctx, rows: rows, accept: &a, size: size + len(a.Body)})
}
