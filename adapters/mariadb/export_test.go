package mariadb

import (
	"context"
	"database/sql"

	"github.com/posthaste/posthaste/events"
)

// InsertInTx writes envs and their outbox rows on tx with exactly the statements of Append's
// transaction, leaving the commit to the test (Append commits its own transactions).
func InsertInTx(ctx context.Context, tx *sql.Tx, envs ...events.Envelope) error {
	rows, _, err := encode(envs)
	if err != nil {
		return err
	}
	if err := insertEvents(ctx, tx, rows); err != nil {
		return err
	}
	return insertOutbox(ctx, tx, rows)
}

// CommitGroup runs one group commit synchronously with one request per element of callers and
// returns each caller's result, as the committer goroutine would.
func CommitGroup(s *Store, callers ...[]events.Envelope) []error {
	group := make([]*appendReq, len(callers))
	for i, envs := range callers {
		rows, size, err := encode(envs)
		if err != nil {
			panic(err)
		}
		group[i] = &appendReq{ctx: context.Background(), rows: rows, size: size, done: make(chan struct{})}
	}
	s.commitGroup(group)
	errs := make([]error, len(group))
	for i, r := range group {
		<-r.done
		errs[i] = r.err
	}
	return errs
}

// Groups returns how many group-commit transactions the store ran.
func Groups(s *Store) int64 { return s.groups.Load() }
