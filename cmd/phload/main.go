// Command phload is Posthaste's SMTP load generator for benchmarks: it runs a counting SMTP
// sink, submits N messages of about 2 KB over S parallel sessions to a target MTA (STARTTLS, and
// AUTH PLAIN when a user is given), and prints accepted/s, delivered/s end to end (until the
// sink has received every accepted message) and submission latency percentiles as a table row.
//
// It is a benchmark tool, not part of the platform: it imports only libraries.
package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

func main() {
	target := flag.String("target", "127.0.0.1:2525", "MTA to submit to")
	sinkAddr := flag.String("sink", "127.0.0.1:2600", "address of the counting sink the MTA relays to")
	name := flag.String("name", "posthaste", "label of the row")
	n := flag.Int("n", 10000, "messages")
	sessions := flag.Int("sessions", 10, "parallel SMTP sessions")
	size := flag.Int("size", 2048, "approximate message size in bytes")
	user := flag.String("user", "", "AUTH PLAIN user (none: no AUTH)")
	pass := flag.String("password", "", "AUTH PLAIN password")
	from := flag.String("from", "load@example.org", "sender and From header")
	noTLS := flag.Bool("no-tls", false, "do not STARTTLS")
	timeout := flag.Duration("timeout", 15*time.Minute, "give up waiting for deliveries after this")
	header := flag.Bool("header", false, "print the table header first")
	flag.Parse()

	sink, err := startSink(*sinkAddr)
	if err != nil {
		log.Fatalf("phload: sink: %v", err)
	}
	defer sink.srv.Close()

	body := makeBody(*from, *size)
	lat := make([]time.Duration, *n)
	var next, failed atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for s := 0; s < *sessions; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var cl *smtp.Client
			for {
				i := int(next.Add(1)) - 1
				if i >= *n {
					break
				}
				if cl == nil {
					if cl, err = dial(*target, *noTLS, *user, *pass); err != nil {
						log.Printf("phload: dial: %v", err)
						failed.Add(1)
						cl = nil
						continue
					}
				}
				t0 := time.Now()
				rcpt := fmt.Sprintf("rcpt%d@sink.test", i)
				if err := cl.SendMail(*from, []string{rcpt}, strings.NewReader(strings.Replace(body, "RCPT", rcpt, 1))); err != nil {
					log.Printf("phload: send %d: %v", i, err)
					failed.Add(1)
					cl.Close()
					cl = nil
					continue
				}
				lat[i] = time.Since(t0)
			}
			if cl != nil {
				cl.Quit()
			}
		}()
	}
	wg.Wait()
	acceptDur := time.Since(start)
	accepted := int64(*n) - failed.Load()
	deadline := time.Now().Add(*timeout)
	for sink.count.Load() < accepted && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	endDur := sink.lastAt().Sub(start)
	got := sink.count.Load()

	var ok []time.Duration
	for _, l := range lat {
		if l > 0 {
			ok = append(ok, l)
		}
	}
	sort.Slice(ok, func(i, j int) bool { return ok[i] < ok[j] })
	pct := func(p float64) time.Duration {
		if len(ok) == 0 {
			return 0
		}
		return ok[min(len(ok)-1, int(float64(len(ok))*p))]
	}
	if *header {
		fmt.Println("| MTA | messages | sessions | accepted | accepted/s | delivered | delivered/s (end to end) | submit p50 | submit p99 |")
		fmt.Println("|---|---|---|---|---|---|---|---|---|")
	}
	fmt.Printf("| %s | %d | %d | %d | %.0f | %d | %.0f | %s | %s |\n", *name, *n, *sessions, accepted,
		float64(accepted)/acceptDur.Seconds(), got, float64(got)/endDur.Seconds(),
		pct(0.50).Round(10*time.Microsecond), pct(0.99).Round(10*time.Microsecond))
	if got < accepted {
		fmt.Fprintf(os.Stderr, "phload: only %d of %d accepted messages reached the sink within %s\n", got, accepted, *timeout)
		os.Exit(1)
	}
}

func dial(addr string, noTLS bool, user, pass string) (*smtp.Client, error) {
	var cl *smtp.Client
	var err error
	if noTLS {
		cl, err = smtp.Dial(addr)
	} else {
		cl, err = smtp.DialStartTLS(addr, &tls.Config{InsecureSkipVerify: true})
	}
	if err != nil {
		return nil, err
	}
	if user != "" {
		if err := cl.Auth(sasl.NewPlainClient("", user, pass)); err != nil {
			cl.Close()
			return nil, err
		}
	}
	return cl, nil
}

func makeBody(from string, size int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "From: Load <%s>\r\nTo: RCPT\r\nSubject: load test\r\nDate: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
		from, time.Now().Format(time.RFC1123Z))
	line := "The quick brown fox jumps over the lazy dog, again and again and again.\r\n"
	for b.Len() < size {
		b.WriteString(line)
	}
	return b.String()
}

// sink counts delivered messages and remembers when the last one arrived.
type sink struct {
	srv   *smtp.Server
	count atomic.Int64
	last  atomic.Int64
}

func (s *sink) lastAt() time.Time { return time.Unix(0, s.last.Load()) }

func startSink(addr string) (*sink, error) {
	s := &sink{}
	srv := smtp.NewServer(sinkBackend{s})
	srv.Addr = addr
	srv.Domain = "sink.test"
	srv.AllowInsecureAuth = true
	srv.MaxRecipients = 1000
	srv.ErrorLog = log.New(io.Discard, "", 0)
	s.srv = srv
	ln, err := listen(addr)
	if err != nil {
		return nil, err
	}
	go srv.Serve(ln)
	return s, nil
}

type sinkBackend struct{ s *sink }

func (b sinkBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return &sinkSession{s: b.s}, nil }

type sinkSession struct {
	s     *sink
	rcpts int
}

func (ss *sinkSession) Mail(string, *smtp.MailOptions) error { ss.rcpts = 0; return nil }
func (ss *sinkSession) Rcpt(string, *smtp.RcptOptions) error { ss.rcpts++; return nil }
func (ss *sinkSession) Data(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	if ss.rcpts == 0 {
		return errors.New("no recipients")
	}
	ss.s.count.Add(int64(ss.rcpts))
	ss.s.last.Store(time.Now().UnixNano())
	return nil
}
func (ss *sinkSession) Reset()        { ss.rcpts = 0 }
func (ss *sinkSession) Logout() error { return nil }
