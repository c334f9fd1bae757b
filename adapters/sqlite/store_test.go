package sqlite_test

import (
	"testing"

	"github.com/posthaste/posthaste/adapters/sqlite/sqlitetest"
	"github.com/posthaste/posthaste/domain/eventstoretest"
)

func TestEventStoreAcceptance(t *testing.T) {
	eventstoretest.Run(t, func(t *testing.T) eventstoretest.Store { return sqlitetest.Store(t) })
}
