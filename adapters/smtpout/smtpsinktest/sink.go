// Package smtpsinktest is a programmable SMTP server for tests: it listens on 127.0.0.1:0,
// answers each MAIL, RCPT and DATA as a script says (250, 451-then-250, 550 ...), can offer
// STARTTLS with a self-signed certificate (or a STARTTLS whose handshake always fails), can
// require AUTH PLAIN, and records every accepted message with its envelope.
//
// It is a test helper: any package's tests may use it as an MX or a smart host. It must not
// be imported by non-test code.
package smtpsinktest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Reply builds a scripted reply: Reply(451, "4.7.1", "Greylisted, try again in 300 seconds").
// An enhanced code "" sends none.
func Reply(code int, enhanced, text string) *smtp.SMTPError {
	e := &smtp.SMTPError{Code: code, EnhancedCode: smtp.NoEnhancedCode, Message: text}
	if enhanced != "" {
		var ec smtp.EnhancedCode
		parts := strings.Split(enhanced, ".")
		if len(parts) == 3 {
			for i, p := range parts {
				for _, c := range p {
					ec[i] = ec[i]*10 + int(c-'0')
				}
			}
			e.EnhancedCode = ec
		}
	}
	return e
}

// TLSMode says whether the sink offers STARTTLS.
type TLSMode int

const (
	NoTLS     TLSMode = iota // STARTTLS not advertised
	StartTLS                 // STARTTLS with a self-signed certificate
	BrokenTLS                // STARTTLS advertised, but every handshake fails
	Implicit                 // TLS from the first byte (smtps), self-signed certificate
)

// Options script the sink. Zero Options accept everything in clear.
type Options struct {
	TLS TLSMode
	// Users, when set, offers AUTH PLAIN with these user → password pairs (allowed in clear:
	// it is a test server) and refuses MAIL before a successful AUTH.
	Users map[string]string
	// Mail, Rcpt and Data return the reply to a command; nil (or a nil result) accepts it.
	// try counts the commands seen so far for that sender / recipient / recipient set across
	// all sessions, from 1: "451 on try 1, then 250" is `if try == 1 { return Reply(451, ...) }`.
	Mail func(from string, try int) *smtp.SMTPError
	Rcpt func(to string, try int) *smtp.SMTPError
	Data func(rcpts []string, try int) *smtp.SMTPError
	// Domain is the name in the greeting (default "sink.test").
	Domain string
	// ReadTimeout drops a connection idle this long (default 30s): a server that hangs up on
	// pooled connections.
	ReadTimeout time.Duration
}

// FailFirst returns a Rcpt/Mail script answering err on the first n tries of each address,
// then accepting.
func FailFirst(n int, err *smtp.SMTPError) func(string, int) *smtp.SMTPError {
	return func(_ string, try int) *smtp.SMTPError {
		if try <= n {
			return err
		}
		return nil
	}
}

// Always returns a Rcpt/Mail script answering err every time.
func Always(err *smtp.SMTPError) func(string, int) *smtp.SMTPError {
	return func(string, int) *smtp.SMTPError { return err }
}

// Message is one accepted message.
type Message struct {
	From       string
	To         []string
	Data       []byte
	TLS        bool   // received over TLS
	TLSVersion uint16 // tls.VersionTLS13 ...
	AuthUser   string
	Helo       string
	RemoteAddr string
	Session    int // the number of the connection it came on, from 1
}

// Sink is a running SMTP server.
type Sink struct {
	// Addr is "127.0.0.1:port".
	Addr string
	// Host and Port split Addr.
	Host string
	Port int

	opts     Options
	srv      *smtp.Server
	certPool *x509.CertPool

	mu       sync.Mutex
	msgs     []Message
	sessions int
	tries    map[string]int
	conns    map[string]int // remote address → connection number
	notify   chan struct{}
}

// New starts a sink on 127.0.0.1:0 and stops it when the test ends.
func New(t testing.TB, opts Options) *Sink {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtpsinktest: listen: %v", err)
	}
	s := &Sink{Addr: l.Addr().String(), opts: opts, tries: map[string]int{}, conns: map[string]int{}, notify: make(chan struct{}, 1)}
	s.Host = "127.0.0.1"
	s.Port = l.Addr().(*net.TCPAddr).Port
	srv := smtp.NewServer(backend{s})
	srv.Domain = opts.Domain
	if srv.Domain == "" {
		srv.Domain = "sink.test"
	}
	srv.AllowInsecureAuth = true
	srv.ReadTimeout = 30 * time.Second
	if opts.ReadTimeout > 0 {
		srv.ReadTimeout = opts.ReadTimeout
	}
	srv.WriteTimeout = 30 * time.Second
	srv.MaxMessageBytes = 50 << 20
	srv.ErrorLog = quietLog{}
	switch opts.TLS {
	case StartTLS, Implicit:
		cert, pool, err := selfSigned()
		if err != nil {
			t.Fatalf("smtpsinktest: certificate: %v", err)
		}
		s.certPool = pool
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		if opts.TLS == Implicit {
			l = tls.NewListener(l, srv.TLSConfig)
		}
	case BrokenTLS:
		srv.TLSConfig = &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return nil, errors.New("smtpsinktest: handshake refused on purpose")
		}}
	}
	s.srv = srv
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

// CertPool trusts the sink's self-signed certificate (nil unless TLS is StartTLS or Implicit).
func (s *Sink) CertPool() *x509.CertPool { return s.certPool }

// Messages returns the accepted messages so far.
func (s *Sink) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Sessions returns how many connections the sink has accepted (a STARTTLS does not count as
// a new one).
func (s *Sink) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions
}

// Tries returns how many RCPT commands the sink has seen for an address.
func (s *Sink) Tries(rcpt string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tries["rcpt:"+strings.ToLower(rcpt)]
}

// WaitMessages waits until at least n messages were accepted or the timeout passed, and
// returns them.
func (s *Sink) WaitMessages(n int, timeout time.Duration) []Message {
	deadline := time.After(timeout)
	for {
		if m := s.Messages(); len(m) >= n {
			return m
		}
		select {
		case <-s.notify:
		case <-deadline:
			return s.Messages()
		}
	}
}

func (s *Sink) try(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tries[key]++
	return s.tries[key]
}

type backend struct{ s *Sink }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	// go-smtp starts a new session after STARTTLS on the same connection: count connections
	// by remote address.
	addr := c.Conn().RemoteAddr().String()
	b.s.mu.Lock()
	n, ok := b.s.conns[addr]
	if !ok {
		b.s.sessions++
		n = b.s.sessions
		b.s.conns[addr] = n
	}
	b.s.mu.Unlock()
	return &session{s: b.s, c: c, n: n}, nil
}

type session struct {
	s    *Sink
	c    *smtp.Conn
	n    int
	user string
	from string
	to   []string
}

func (ss *session) AuthMechanisms() []string {
	if ss.s.opts.Users == nil {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if pw, ok := ss.s.opts.Users[username]; !ok || pw != password {
			return Reply(535, "5.7.8", "authentication failed")
		}
		ss.user = username
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.opts.Users != nil && ss.user == "" {
		return Reply(530, "5.7.0", "authentication required")
	}
	if f := ss.s.opts.Mail; f != nil {
		if err := f(from, ss.s.try("mail:"+strings.ToLower(from))); err != nil {
			return err
		}
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	try := ss.s.try("rcpt:" + strings.ToLower(to))
	if f := ss.s.opts.Rcpt; f != nil {
		if err := f(to, try); err != nil {
			return err
		}
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if f := ss.s.opts.Data; f != nil {
		key := "data:" + strings.ToLower(strings.Join(ss.to, ","))
		if err := f(ss.to, ss.s.try(key)); err != nil {
			return err
		}
	}
	m := Message{From: ss.from, To: append([]string(nil), ss.to...), Data: data, AuthUser: ss.user,
		Helo: ss.c.Hostname(), RemoteAddr: ss.c.Conn().RemoteAddr().String(), Session: ss.n}
	if st, ok := ss.c.TLSConnectionState(); ok {
		m.TLS, m.TLSVersion = true, st.Version
	}
	ss.s.mu.Lock()
	ss.s.msgs = append(ss.s.msgs, m)
	ss.s.mu.Unlock()
	select {
	case ss.s.notify <- struct{}{}:
	default:
	}
	return nil
}

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }

type quietLog struct{}

func (quietLog) Printf(string, ...interface{}) {}
func (quietLog) Println(...interface{})        {}

// selfSigned makes a certificate for 127.0.0.1 / localhost / sink.test.
func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "sink.test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:              []string{"localhost", "sink.test"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}
