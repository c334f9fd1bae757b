package smtpout_test

import (
	"bufio"
	"context"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/posthaste/posthaste/adapters/smtpout"
	"github.com/posthaste/posthaste/domain/delivery"
)

// strictServer is a plain-text SMTP server that, like Python's smtpd, refuses a second EHLO
// (503) and offers no STARTTLS; it records the commands it received.
type strictServer struct {
	addr string
	mu   sync.Mutex
	cmds []string
}

func startStrictServer(t *testing.T, offerSTARTTLS bool) *strictServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	s := &strictServer{addr: l.Addr().String()}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go s.serve(c, offerSTARTTLS)
		}
	}()
	return s
}

func (s *strictServer) serve(c net.Conn, offerSTARTTLS bool) {
	defer c.Close()
	r := bufio.NewReader(c)
	say := func(l string) { _, _ = c.Write([]byte(l + "\r\n")) }
	say("220 strict.test ESMTP")
	greeted, inData := false, false
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			return
		}
		l = strings.TrimRight(l, "\r\n")
		if inData {
			if l == "." {
				inData = false
				say("250 2.0.0 queued")
			}
			continue
		}
		s.mu.Lock()
		s.cmds = append(s.cmds, l)
		s.mu.Unlock()
		verb := strings.ToUpper(strings.Fields(l + " x")[0])
		switch {
		case verb == "EHLO" && greeted:
			say("503 5.5.1 Duplicate HELO/EHLO")
		case verb == "EHLO":
			greeted = true
			say("250-strict.test")
			say("250-8BITMIME")
			if offerSTARTTLS {
				say("250-STARTTLS")
			}
			say("250 SIZE 1000000")
		case verb == "STARTTLS":
			say("454 4.7.0 TLS not available")
		case verb == "MAIL" || verb == "RCPT" || verb == "RSET" || verb == "NOOP":
			say("250 2.1.0 ok")
		case verb == "DATA":
			inData = true
			say("354 go ahead")
		case verb == "QUIT":
			say("221 2.0.0 bye")
			return
		default:
			say("502 5.5.2 unknown command")
		}
	}
}

func (s *strictServer) count(verb string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.cmds {
		if strings.HasPrefix(strings.ToUpper(c), verb) {
			n++
		}
	}
	return n
}

// A server that offers no STARTTLS (or refuses it) is greeted with one EHLO, not two: a second
// EHLO costs a round trip and strict servers refuse it.
func TestEHLOOnceWithoutSTARTTLS(t *testing.T) {
	for _, offer := range []bool{false, true} {
		name := "no STARTTLS offered"
		if offer {
			name = "STARTTLS refused"
		}
		t.Run(name, func(t *testing.T) {
			srv := startStrictServer(t, offer)
			relays, err := smtpout.ParseRelays("smtp://" + srv.addr)
			if err != nil {
				t.Fatal(err)
			}
			c, err := smtpout.New(smtpout.Config{Hostname: "out.test", Relays: relays, ReturnPathDomain: rpDomain, Logger: quietLogger()})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			for i, id := range []string{"m1", "m2"} { // the second goes over the pooled session
				res := c.Deliver(context.Background(), testMessage(id, "someone@anywhere.example"))
				if res.Outcome() != delivery.Delivered {
					t.Fatalf("attempt %d: %+v\n%s", i+1, res, res.Transcript)
				}
				tr := res.Transcript
				if i == 0 {
					if n := strings.Count(tr, "C: EHLO out.test"); n != 1 {
						t.Errorf("transcript has %d EHLO lines, want 1:\n%s", n, tr)
					}
					if n := strings.Count(tr, "S: 250-strict.test"); n != 1 {
						t.Errorf("transcript has the EHLO reply %d times, want 1:\n%s", n, tr)
					}
					if strings.Contains(tr, "greeting already read") {
						t.Errorf("replayed greeting leaked into the transcript:\n%s", tr)
					}
				}
			}
			if n := srv.count("EHLO"); n != 1 {
				t.Fatalf("server received %d EHLO, want 1: %q", n, srv.cmds)
			}
			if n := srv.count("MAIL FROM"); n != 2 {
				t.Fatalf("server received %d MAIL, want 2: %q", n, srv.cmds)
			}
		})
	}
}
