package mariadb_test

import (
	"testing"

	"github.com/posthaste/posthaste/adapters/mariadb/mariadbtest"
	"github.com/posthaste/posthaste/domain/eventstoretest"
)

func TestEventStoreAcceptance(t *testing.T) {
	eventstoretest.Run(t, func(t *testing.T) eventstoretest.Store { return mariadbtest.Store(t) })
}
