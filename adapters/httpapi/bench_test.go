package httpapi_test

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
)

// BenchmarkV2Send: accepted sends through the HTTP API in process (loopback HTTP, JSON,
// acceptance with a durable commit on SQLite, integer ids), parallel clients.
func BenchmarkV2Send(b *testing.B) {
	for name, mk := range map[string]func(testing.TB) (backend, string){"sqlite": sqliteBackend, "mariadb": mariadbBackend} {
		b.Run(name, func(b *testing.B) { benchSend(b, mk) })
	}
}

func benchSend(b *testing.B, mk func(testing.TB) (backend, string)) {
	e := newEnv(b, mk, options{rate: -1})
	var n atomic.Int64
	b.SetParallelism(64)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			body := fmt.Sprintf(`{"from":"app@example.org","to":["u%d@remote.test"],"subject":"s","text":"t"}`, n.Add(1))
			code, _, out := e.do("POST", "/api/v2/send", body, "Authorization", "Bearer "+e.key)
			if code != http.StatusAccepted {
				b.Fatalf("%d %s", code, out)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "accepted/s")
}
