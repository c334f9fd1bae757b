package mariadb_test

import (
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/posthaste/posthaste/adapters/mariadb/mariadbtest"
	"github.com/posthaste/posthaste/domain/eventstoretest"
)

// BenchmarkRelayPendingAckBacklog drains b.N events through Pending(1000)+Ack from the head of
// an outbox that holds a backlog of unpositioned events behind them (appended untimed through
// Append). POSTHASTE_BENCH_BACKLOG sets the backlog sizes (comma separated, default 0,200000).
// Run: go test -run '^$' -bench RelayPendingAckBacklog -benchtime 20000x ./adapters/mariadb/
func BenchmarkRelayPendingAckBacklog(b *testing.B) {
	sizes := []int{0, 200000}
	if v := os.Getenv("POSTHASTE_BENCH_BACKLOG"); v != "" {
		sizes = sizes[:0]
		for _, f := range splitComma(v) {
			n, err := strconv.Atoi(f)
			if err != nil {
				b.Fatalf("POSTHASTE_BENCH_BACKLOG: %v", err)
			}
			sizes = append(sizes, n)
		}
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("backlog=%d", n), func(b *testing.B) {
			eventstoretest.BenchRelayBacklog(b, mariadbtest.Store(b), n, 1000)
		})
	}
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}
