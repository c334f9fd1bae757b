package memory_test

import (
	"testing"

	"github.com/posthaste/posthaste/adapters/bustest"
	"github.com/posthaste/posthaste/adapters/memory"
	"github.com/posthaste/posthaste/domain"
)

func TestBusAcceptance(t *testing.T) {
	bustest.RunBus(t, func(t *testing.T) bustest.Bus {
		b, err := memory.NewBus(0)
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}

func TestLockerAcceptance(t *testing.T) {
	bustest.RunLocker(t, func(t *testing.T) domain.Locker { return memory.NewLocker() })
}

func TestNewBusRefusesNegativePrefetch(t *testing.T) {
	if _, err := memory.NewBus(-1); err == nil {
		t.Fatal("want an error")
	}
}
