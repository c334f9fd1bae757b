package sqlstore_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/posthaste/posthaste/adapters/sqlstore/sqlstoretest"
	"github.com/posthaste/posthaste/domain/eventstoretest"
)

// Durable defaults: MariaDB with innodb_flush_log_at_trx_commit as the server has it (1
// here), SQLite in WAL with synchronous=FULL; every event carries its outbox row. Each
// benchmark runs on both backends (sub-benchmarks sqlite and mariadb).
// Run: go test -run '^$' -bench . -benchtime 3s ./adapters/sqlstore/

func benchOnEach(b *testing.B, f func(b *testing.B, be sqlstoretest.Backend)) {
	for _, be := range sqlstoretest.Backends {
		b.Run(be.Name, func(b *testing.B) { f(b, be) })
	}
}

func BenchmarkAppendSingle(b *testing.B) {
	benchOnEach(b, func(b *testing.B, be sqlstoretest.Backend) { eventstoretest.BenchAppend(b, be.Open(b), 1, 1) })
}

func BenchmarkAppendBatch100(b *testing.B) {
	benchOnEach(b, func(b *testing.B, be sqlstoretest.Backend) { eventstoretest.BenchAppend(b, be.Open(b), 1, 100) })
}

func BenchmarkAppendConcurrent64(b *testing.B) {
	benchOnEach(b, func(b *testing.B, be sqlstoretest.Backend) { eventstoretest.BenchAppend(b, be.Open(b), 64, 1) })
}

func BenchmarkAppendConcurrent64Batch10(b *testing.B) {
	benchOnEach(b, func(b *testing.B, be sqlstoretest.Backend) { eventstoretest.BenchAppend(b, be.Open(b), 64, 10) })
}

func BenchmarkRelayPendingAck1000(b *testing.B) {
	benchOnEach(b, func(b *testing.B, be sqlstoretest.Backend) { eventstoretest.BenchRelay(b, be.Open(b), 1000) })
}

// BenchmarkRelayPendingAckBacklog drains b.N events through Pending(1000)+Ack from the head of
// a MariaDB outbox that holds a backlog of unpositioned events behind them (appended untimed
// through Append). POSTHASTE_BENCH_BACKLOG sets the backlog sizes (comma separated, default
// 0,200000).
// Run: go test -run '^$' -bench RelayPendingAckBacklog -benchtime 20000x ./adapters/sqlstore/
func BenchmarkRelayPendingAckBacklog(b *testing.B) {
	sizes := []int{0, 200000}
	if v := os.Getenv("POSTHASTE_BENCH_BACKLOG"); v != "" {
		sizes = sizes[:0]
		for _, f := range strings.Split(v, ",") {
			if f == "" {
				continue
			}
			n, err := strconv.Atoi(f)
			if err != nil {
				b.Fatalf("POSTHASTE_BENCH_BACKLOG: %v", err)
			}
			sizes = append(sizes, n)
		}
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("backlog=%d", n), func(b *testing.B) {
			eventstoretest.BenchRelayBacklog(b, sqlstoretest.MariaDB(b), n, 1000)
		})
	}
}

// BenchmarkBaselineRawInsert100 is the yardstick printed beside the table: 100-row INSERTs of
// 700-byte blobs into a bare two-column MariaDB table, one durable commit each, on the same
// server at the same moment. The design's reference for this on an idle machine is
// ~50,000-60,000 rows/s.
func BenchmarkBaselineRawInsert100(b *testing.B) {
	db := sqlstoretest.MariaDBDB(b)
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
