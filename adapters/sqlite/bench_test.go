package sqlite_test

import (
	"testing"

	"github.com/posthaste/posthaste/adapters/sqlite/sqlitetest"
	"github.com/posthaste/posthaste/domain/eventstoretest"
)

// Durable defaults: WAL with synchronous=FULL; every event
// carries its outbox row. Run: go test -run '^$' -bench . -benchtime 3s ./adapters/sqlite/

func BenchmarkAppendSingle(b *testing.B) {
	eventstoretest.BenchAppend(b, sqlitetest.Store(b), 1, 1)
}

func BenchmarkAppendBatch100(b *testing.B) {
	eventstoretest.BenchAppend(b, sqlitetest.Store(b), 1, 100)
}

func BenchmarkAppendConcurrent64(b *testing.B) {
	eventstoretest.BenchAppend(b, sqlitetest.Store(b), 64, 1)
}

func BenchmarkAppendConcurrent64Batch10(b *testing.B) {
	eventstoretest.BenchAppend(b, sqlitetest.Store(b), 64, 10)
}

func BenchmarkRelayPendingAck1000(b *testing.B) {
	eventstoretest.BenchRelay(b, sqlitetest.Store(b), 1000)
}
