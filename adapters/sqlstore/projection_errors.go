package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"

	"github.com/posthaste/posthaste/projections"
)

// IsDatabaseError is the default classifier of Apply failures: true for a failure of the database
// or the connection (retried with backoff), false for anything else (poison). It recognises the
// database/sql and driver sentinels, network errors and the error types of both databases'
// drivers (errors.As on the drivers' own types), wrapped or joined at any depth; an error marked
// projections.Poison is never a database error.
func IsDatabaseError(err error) bool {
	if err == nil || errors.Is(err, projections.ErrPoison) {
		return false
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) || errors.Is(err, sql.ErrTxDone) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	return MariaDB.isDriverError(err) || SQLite.isDriverError(err)
}
