package sqlstore_test

import (
	"testing"

	"github.com/posthaste/posthaste/adapters/sqlstore/sqlstoretest"
	"github.com/posthaste/posthaste/domain/inbound"
	"github.com/posthaste/posthaste/domain/inbound/inboundtest"
)

func TestInboundStore(t *testing.T) {
	for _, b := range sqlstoretest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			inboundtest.Run(t, func(t *testing.T) inbound.Store { return b.Open(t).Inbound() })
		})
	}
}
