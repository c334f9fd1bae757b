package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// ErrNoBody is returned by Body for an unknown body id.
var ErrNoBody = errors.New("sqlstore: no such body")

// Body returns a stored body (delivery.Bodies), or an error matching ErrNoBody.
func (s *Store) Body(ctx context.Context, id string) ([]byte, error) {
	var data []byte
	err := s.w.QueryRowContext(ctx, `SELECT data FROM bodies WHERE id = ?`, id).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s", ErrNoBody, id)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: body %s: %w", id, err)
	}
	return data, nil
}
