package sqlstore_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/posthaste/posthaste/adapters/sqlstore"
	pt "github.com/posthaste/posthaste/adapters/sqlstore/projectiontest"
	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections"
)

func TestIsDatabaseError(t *testing.T) {
	// Real driver errors from both backends.
	var driverErrs []error
	for _, db := range []pt.Database{sqliteDB(t), mariaDB(t)} {
		_, err := db.DB.ExecContext(pt.Ctx(t), `SELECT * FROM no_such_table`)
		if err == nil {
			t.Fatal("querying a missing table succeeded")
		}
		driverErrs = append(driverErrs, fmt.Errorf("wrapped: %w", err))
	}
	var syntax *json.SyntaxError
	jsonErr := json.Unmarshal([]byte("{"), &map[string]any{})
	if !errors.As(jsonErr, &syntax) {
		t.Fatalf("want a json syntax error, got %v", jsonErr)
	}
	_, unknown := events.Decode(events.Envelope{Type: "no.such", Payload: []byte("{}")})
	cases := []struct {
		err  error
		want bool
	}{
		{driverErrs[0], true},
		{driverErrs[1], true},
		{driver.ErrBadConn, true},
		{fmt.Errorf("x: %w", sql.ErrConnDone), true},
		{context.DeadlineExceeded, true},
		{errors.Join(errors.New("other"), driverErrs[1]), true},
		{projections.Poison(driverErrs[0]), false}, // an explicit verdict wins
		{jsonErr, false},
		{unknown, false},
		{errors.New("invalid payload"), false},
		{nil, false},
	}
	for _, c := range cases {
		if got := sqlstore.IsDatabaseError(c.err); got != c.want {
			t.Errorf("IsDatabaseError(%v) = %v, want %v", c.err, got, c.want)
		}
	}
	if !errors.Is(projections.Poison(errors.New("x")), projections.ErrPoison) || projections.Poison(nil) != nil {
		t.Error("Poison must wrap ErrPoison and keep nil nil")
	}
}
