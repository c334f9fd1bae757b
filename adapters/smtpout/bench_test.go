package smtpout_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/dnsresolver"
	"github.com/posthaste/posthaste/adapters/dnsresolver/dnstest"
	"github.com/posthaste/posthaste/adapters/smtpout"
	"github.com/posthaste/posthaste/adapters/smtpout/smtpsinktest"
	"github.com/posthaste/posthaste/domain/delivery"
)

// Delivery of ~2 KB messages to a loopback sink as MX, 10 goroutines. The sink runs in the
// same process, so the figure is the client and the sink together, and noisy on a shared
// machine.
func BenchmarkDeliver(b *testing.B) {
	for _, bc := range []struct {
		name string
		idle time.Duration
		tls  smtpsinktest.TLSMode
	}{
		{"reused-clear", time.Minute, smtpsinktest.NoTLS},
		{"reused-starttls", time.Minute, smtpsinktest.StartTLS},
		{"new-connection-clear", -1, smtpsinktest.NoTLS},
		{"new-connection-starttls", -1, smtpsinktest.StartTLS},
	} {
		b.Run(bc.name, func(b *testing.B) {
			sink := smtpsinktest.New(b, smtpsinktest.Options{TLS: bc.tls})
			zone := dnstest.New(b, "bench.example. 300 IN MX 10 mx.bench.example.", "mx.bench.example. 300 IN A 127.0.0.1")
			res, _ := dnsresolver.New(zone.Addr, "", time.Second, dnsresolver.WithCache())
			c, err := smtpout.New(smtpout.Config{Hostname: "out.test", Resolver: res, MXPort: sink.Port, ReturnPathDomain: rpDomain,
				IdleTimeout: bc.idle, MaxIdlePerDestination: 10, Concurrency: delivery.ConcurrencyPolicy{Default: 10}, Logger: quietLogger()})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			msg := testMessage("0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "r@bench.example")
			msg.Data = append(msg.Data, []byte(strings.Repeat("0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopq\r\n", 30))...)
			b.SetBytes(int64(len(msg.Data)))
			b.SetParallelism(5) // 10 goroutines on 2 cores
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if r := c.Deliver(context.Background(), msg); r.Outcome() != delivery.Delivered {
						b.Errorf("%+v", r)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
