package main

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/posthaste/posthaste/adapters/smtpout/smtpsinktest"
)

// loadClient submits numbered messages over STARTTLS + AUTH on several sessions until stop is
// closed or n messages were tried, and records the numbers the server answered 250 for.
type loadClient struct {
	addr, user, pass string
	mu               sync.Mutex
	acked            map[int]bool
	next             atomic.Int64
	failures         atomic.Int64
}

func (c *loadClient) run(sessions, n int, stop <-chan struct{}) {
	var wg sync.WaitGroup
	for s := 0; s < sessions; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var cl *smtp.Client
			defer func() {
				if cl != nil {
					cl.Close()
				}
			}()
			for {
				select {
				case <-stop:
					return
				default:
				}
				i := int(c.next.Add(1))
				if i > n {
					return
				}
				if cl == nil {
					var err error
					cl, err = smtp.DialStartTLS(c.addr, &tls.Config{InsecureSkipVerify: true})
					if err == nil {
						err = cl.Auth(sasl.NewPlainClient("", c.user, c.pass))
					}
					if err != nil {
						if cl != nil {
							cl.Close()
						}
						cl = nil
						c.failures.Add(1)
						time.Sleep(100 * time.Millisecond)
						continue
					}
				}
				body := fmt.Sprintf("From: load@example.org\r\nTo: r%d@remote.test\r\nSubject: load %d\r\n\r\nmessage %d\r\n", i, i, i)
				err := cl.SendMail("load@example.org", []string{fmt.Sprintf("r%d@remote.test", i)}, strings.NewReader(body))
				if err != nil {
					c.failures.Add(1)
					cl.Close()
					cl = nil
					continue
				}
				c.mu.Lock()
				c.acked[i] = true
				c.mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

func (c *loadClient) ackedCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.acked)
}

// missing returns the acknowledged numbers the sink has not received.
func (c *loadClient) missing(sink *smtpsinktest.Sink) []int {
	got := map[string]bool{}
	for _, m := range sink.Messages() {
		for _, to := range m.To {
			got[to] = true
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []int
	for i := range c.acked {
		if !got[fmt.Sprintf("r%d@remote.test", i)] {
			out = append(out, i)
		}
	}
	return out
}

func setupLoad(t *testing.T, env map[string]string, sink *smtpsinktest.Sink) *loadClient {
	t.Helper()
	env["POSTHASTE_SMTP_RELAYS"] = "smtp://" + sink.Addr
	env["POSTHASTE_HOSTNAME"] = "posthaste.test"
	env["POSTHASTE_RETRY_INITIAL"] = "1s"
	env["POSTHASTE_SMTP_LISTEN"] = freeAddr(t)
	mustRun(t, env, "org", "create", "acme")
	mustRun(t, env, "server", "create", "acme/main")
	mustRun(t, env, "domain", "create", "example.org", "--server", "acme/main", "--skip-verification")
	out := mustRun(t, env, "credential", "create", "--server", "acme/main", "--type", "smtp", "--json")
	var cred struct{ Username, Password string }
	if err := jsonUnmarshal(out, &cred); err != nil {
		t.Fatal(err)
	}
	return &loadClient{addr: env["POSTHASTE_SMTP_LISTEN"], user: cred.Username, pass: cred.Password, acked: map[int]bool{}}
}

// waitDelivered waits until every acknowledged message reached the sink, or the timeout.
func waitDelivered(t *testing.T, c *loadClient, sink *smtpsinktest.Sink, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		miss := c.missing(sink)
		if len(miss) == 0 {
			t.Logf("all %d acknowledged messages delivered (%d received by the sink, %d client failures)", c.ackedCount(), len(sink.Messages()), c.failures.Load())
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d messages the client got 250 for never reached the sink (e.g. %v)", len(miss), c.ackedCount(), miss[:min(10, len(miss))])
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// TestSerialKillNineMidLoadLosesNothing: serve is killed with SIGKILL while clients submit; a new
// serve starts; every message a client got 250 for reaches the sink. Both backends.
func TestSerialKillNineMidLoadLosesNothing(t *testing.T) {
	if os.Getenv("POSTHASTE_SERIAL_TESTS") != "1" {
		t.Skip("kills serve mid-load: runs only with POSTHASTE_SERIAL_TESTS=1 (serial stage)")
	}
	for name, mkEnv := range lifecycleEnvs(t) {
		t.Run(name, func(t *testing.T) {
			sink := smtpsinktest.New(t, smtpsinktest.Options{})
			env := mkEnv(t)
			c := setupLoad(t, env, sink)
			p := startServe(t, env)
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() { c.run(8, 600, stop); close(done) }()
			for c.ackedCount() < 150 {
				time.Sleep(10 * time.Millisecond)
			}
			p.kill9(t)
			t.Logf("killed serve after %d acknowledged submissions, %d delivered", c.ackedCount(), len(sink.Messages()))
			p2 := startServe(t, env)
			<-done // clients reconnect to the new serve and finish
			close(stop)
			waitDelivered(t, c, sink, 3*time.Minute)
			p2.stop(t)
		})
	}
}

// TestSerialBrokerRestartMidLoadLosesNothing: RabbitMQ is restarted while clients submit on the
// production stack; every acknowledged message still reaches the sink.
func TestSerialBrokerRestartMidLoadLosesNothing(t *testing.T) {
	if os.Getenv("POSTHASTE_SERIAL_TESTS") != "1" {
		t.Skip("restarts RabbitMQ: runs only with POSTHASTE_SERIAL_TESTS=1 (serial stage)")
	}
	env, _ := productionEnv(t)
	sink := smtpsinktest.New(t, smtpsinktest.Options{})
	c := setupLoad(t, env, sink)
	p := startServe(t, env)
	done := make(chan struct{})
	go func() { c.run(8, 600, make(chan struct{})); close(done) }()
	for c.ackedCount() < 150 {
		time.Sleep(10 * time.Millisecond)
	}
	for _, args := range [][]string{{"stop_app"}, {"start_app"}, {"await_startup"}} {
		if out, err := exec.Command("rabbitmqctl", args...).CombinedOutput(); err != nil {
			t.Fatalf("rabbitmqctl %v: %v\n%s", args, err, out)
		}
	}
	<-done
	waitDelivered(t, c, sink, 3*time.Minute)
	p.stop(t)
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
