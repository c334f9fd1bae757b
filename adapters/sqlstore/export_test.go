package sqlstore

import (
	"context"
	"database/sql"

	"github.com/posthaste/posthaste/events"
)

// InsertInTx writes envs and their outbox rows on tx with exactly the statements of Append's
// transaction, leaving the commit to the test (Append commits its own transactions). For
// MariaDB, where positions are stamped later.
func InsertInTx(ctx context.Context, s *Store, tx *sql.Tx, envs ...events.Envelope) error {
	rows, _, err := encode("append", envs)
	if err != nil {
		return err
	}
	return s.writeRequests(ctx, tx, []*request{{op: "append", ctx: ctx, rows: rows}}, 0)
}

// CommitGroup runs one group commit synchronously with one request per element of callers and
// returns each caller's result, as a committer goroutine would.
func CommitGroup(s *Store, callers ...[]events.Envelope) []error {
	group := make([]*request, len(callers))
	for i, envs := range callers {
		rows, size, err := encode("append", envs)
		if err != nil {
			panic(err)
		}
		group[i] = &request{op: "append", ctx: context.Background(), rows: rows, size: size, done: make(chan struct{})}
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

// MariaDB's hot outbox queries, for the plan checks of stamping_test.go.
const (
	UnstampedQuery = mariaDBUnstampedQuery
	PendingQuery   = mariaDBPendingQuery
)
