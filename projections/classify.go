package projections

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"strings"
)

// ErrPoison is matched (errors.Is) by errors made with Poison.
var ErrPoison = errors.New("poison event")

// Poison marks err as a poison event: the runner dead-letters the event at once, without retrying.
// A projection uses it for an event it can never apply (a payload it cannot decode, a value out of
// range). Any other error that is not a database error is treated the same way.
func Poison(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrPoison, err)
}

// driverPackages name the SQL drivers whose error types mean "the database failed", recognised by
// package path so this package need not import them.
var driverPackages = []string{
	"github.com/go-sql-driver/mysql",
	"modernc.org/sqlite",
	"modernc.org/libc",
}

// IsDatabaseError is the default classifier of Apply failures: true for a failure of the database
// or the connection (retried with backoff), false for anything else (poison). It recognises the
// database/sql and driver sentinels, network errors and the error types of the MariaDB and SQLite
// drivers.
func IsDatabaseError(err error) bool {
	if err == nil || errors.Is(err, ErrPoison) {
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
	found := false
	walk(err, func(e error) bool {
		t := reflect.TypeOf(e)
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		for _, p := range driverPackages {
			if strings.HasPrefix(t.PkgPath(), p) {
				found = true
				return false
			}
		}
		return true
	})
	return found
}

// walk visits err and every error it wraps (Unwrap() error and Unwrap() []error) until f says stop.
func walk(err error, f func(error) bool) bool {
	if err == nil {
		return true
	}
	if !f(err) {
		return false
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		return walk(u.Unwrap(), f)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if !walk(e, f) {
				return false
			}
		}
	}
	return true
}
