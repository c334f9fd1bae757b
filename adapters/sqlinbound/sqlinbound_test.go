package sqlinbound_test

import (
	"testing"

	"github.com/posthaste/posthaste/adapters/mariadb/mariadbtest"
	"github.com/posthaste/posthaste/adapters/sqlinbound"
	"github.com/posthaste/posthaste/adapters/sqlite/sqlitetest"
	"github.com/posthaste/posthaste/domain/inbound"
	"github.com/posthaste/posthaste/domain/inbound/inboundtest"
)

func TestInboundStore(t *testing.T) {
	for name, open := range map[string]func(t *testing.T) inbound.Store{
		"sqlite": func(t *testing.T) inbound.Store {
			s, err := sqlinbound.New(sqlitetest.Store(t).DB())
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		"mariadb": func(t *testing.T) inbound.Store {
			s, err := sqlinbound.New(mariadbtest.Store(t).DB())
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
	} {
		t.Run(name, func(t *testing.T) { inboundtest.Run(t, open) })
	}
}
