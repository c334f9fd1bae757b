package mariadb_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/posthaste/posthaste/adapters/mariadb/mariadbtest"
	"github.com/posthaste/posthaste/domain/eventstoretest"
)

// Durable defaults: innodb_flush_log_at_trx_commit as the server has it (1 here); every event
// carries its outbox row. Run: go test -run '^$' -bench . -benchtime 3s ./adapters/mariadb/

func BenchmarkAppendSingle(b *testing.B) {
	eventstoretest.BenchAppend(b, mariadbtest.Store(b), 1, 1)
}

func BenchmarkAppendBatch100(b *testing.B) {
	eventstoretest.BenchAppend(b, mariadbtest.Store(b), 1, 100)
}

func BenchmarkAppendConcurrent64(b *testing.B) {
	eventstoretest.BenchAppend(b, mariadbtest.Store(b), 64, 1)
}

func BenchmarkAppendConcurrent64Batch10(b *testing.B) {
	eventstoretest.BenchAppend(b, mariadbtest.Store(b), 64, 10)
}

func BenchmarkRelayPendingAck1000(b *testing.B) {
	eventstoretest.BenchRelay(b, mariadbtest.Store(b), 1000)
}

// BenchmarkBaselineRawInsert100 is the yardstick printed beside the table: 100-row INSERTs of
// 700-byte blobs into a bare two-column table, one durable commit each, on the same server at
// the same moment. The design's reference for this on an idle machine is ~50,000-60,000 rows/s.
func BenchmarkBaselineRawInsert100(b *testing.B) {
	db := mariadbtest.DB(b)
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `CREATE TABLE baseline (seq BIGINT AUTO_INCREMENT PRIMARY KEY, data LONGBLOB)`); err != nil {
		b.Fatal(err)
	}
	q := "INSERT INTO baseline (data) VALUES " + strings.TrimSuffix(strings.Repeat("(?),", 100), ",")
	args := make([]any, 100)
	for i := range args {
		args[i] = bytes.Repeat([]byte("x"), 700)
	}
	b.ResetTimer()
	for range b.N {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "rows/s")
}
