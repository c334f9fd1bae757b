package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/smtpout/smtpsinktest"
)

// TestAPISendLoad measures accepted sends per second through the HTTP API of the built binary
// (serve with every role, deliveries to a counting sink), and prints a table for
// docs/benchmarks.md. It is a measurement, not a check: run it on purpose with
//
//	POSTHASTE_API_LOAD=1 go test ./cmd/posthaste -run TestAPISendLoad -v
func TestAPISendLoad(t *testing.T) {
	if os.Getenv("POSTHASTE_API_LOAD") == "" {
		t.Skip("a load measurement: set POSTHASTE_API_LOAD=1 to run it")
	}
	dur := 5 * time.Second
	if v, err := time.ParseDuration(os.Getenv("POSTHASTE_API_LOAD_DURATION")); err == nil {
		dur = v
	}
	var rows []string
	for _, name := range []string{"embedded", "production"} {
		sink := smtpsinktest.New(t, smtpsinktest.Options{})
		env := lifecycleEnvs(t)[name](t)
		env["POSTHASTE_SMTP_RELAYS"] = "smtp://" + sink.Addr
		env["POSTHASTE_HOSTNAME"] = "posthaste.test"
		env["POSTHASTE_LOG_LEVEL"] = "warn"
		mustRun(t, env, "org", "create", "acme")
		mustRun(t, env, "server", "create", "acme/main")
		mustRun(t, env, "domain", "create", "example.org", "--server", "acme/main", "--skip-verification")
		var cred struct{ Key string }
		if err := json.Unmarshal([]byte(mustRun(t, env, "credential", "create", "--server", "acme/main", "--type", "api", "--json")), &cred); err != nil {
			t.Fatal(err)
		}
		srv := startServe(t, env)
		for _, ep := range []struct{ name, path, body string }{
			{"v2 send", "/api/v2/send", `{"from":"app@example.org","to":["u%d@remote.test"],"subject":"load","text":"hello"}`},
			{"v1 send/message", "/api/v1/send/message", `{"from":"app@example.org","to":["u%d@remote.test"],"subject":"load","plain_body":"hello"}`},
		} {
			for _, conc := range []int{32, 128, 256} {
				n, errs, rate, p50, p99 := loadRun(t, srv.http+ep.path, cred.Key, ep.body, conc, dur)
				rows = append(rows, fmt.Sprintf("| %s | %s | %d | %d | %d | %.0f | %.1f | %.1f | %s |", name, ep.name, conc, n, errs, rate,
					float64(p50.Microseconds())/1000, float64(p99.Microseconds())/1000, loadAverage()))
			}
		}
	}
	fmt.Println("| backend | endpoint | concurrency | accepted | errors | accepted/s | p50 ms | p99 ms | load (1 min) |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|")
	fmt.Println(strings.Join(rows, "\n"))
}

// loadAverage is the 1-minute load average after a row (as uptime shows it): figures taken
// under load are lower bounds.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "?"
}

// loadRun sends for dur with conc clients and returns accepted count, errors, accepted/s and
// latency percentiles.
func loadRun(t *testing.T, url, key, body string, conc int, dur time.Duration) (int64, int64, float64, time.Duration, time.Duration) {
	tr := &http.Transport{MaxIdleConns: conc * 2, MaxIdleConnsPerHost: conc * 2}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	defer tr.CloseIdleConnections()
	var ok, bad, seq atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	stop := time.Now().Add(dur)
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < conc; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(stop) {
				b := fmt.Sprintf(body, seq.Add(1))
				req, _ := http.NewRequest("POST", url, bytes.NewBufferString(b))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+key)
				req.Header.Set("X-Server-API-Key", key)
				t0 := time.Now()
				res, err := client.Do(req)
				if err != nil {
					bad.Add(1)
					continue
				}
				var buf bytes.Buffer
				buf.ReadFrom(res.Body)
				res.Body.Close()
				if (res.StatusCode == 202) || (res.StatusCode == 200 && bytes.Contains(buf.Bytes(), []byte(`"status":"success"`))) {
					ok.Add(1)
					mine = append(mine, time.Since(t0))
				} else {
					if bad.Add(1) == 1 {
						t.Logf("first failure: %d %s", res.StatusCode, buf.String())
					}
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	el := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[int(float64(len(lat)-1)*p)]
	}
	return ok.Load(), bad.Load(), float64(ok.Load()) / el.Seconds(), pct(0.5), pct(0.99)
}
