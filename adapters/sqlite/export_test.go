package sqlite

import (
	"context"
	"database/sql"

	"github.com/posthaste/posthaste/events"
)

// AppendWith exposes appendWith to the external tests.
func AppendWith(ctx context.Context, s *Store, envs []events.Envelope, also func(*sql.Tx) error) error {
	return s.appendWith(ctx, envs, also)
}

// CommitGroup runs one group commit synchronously with one request per element of callers and
// returns each caller's result, as the committer goroutine would.
func CommitGroup(s *Store, callers ...[]events.Envelope) []error {
	group := make([]*appendReq, len(callers))
	for i, envs := range callers {
		rows, err := encode(envs)
		if err != nil {
			panic(err)
		}
		group[i] = &appendReq{ctx: context.Background(), rows: rows, done: make(chan struct{})}
	}
	s.commitGroup(group)
	errs := make([]error, len(group))
	for i, r := range group {
		<-r.done
		errs[i] = r.err
	}
	return errs
}
