package smtpout

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/posthaste/posthaste/domain/bounce"
	"github.com/posthaste/posthaste/domain/delivery"
)

// Message is one message to one recipient.
type Message struct {
	// ID is the message (stream) id: the VERP return path is made from it when
	// Config.ReturnPathDomain is set.
	ID string
	// MailFrom is the envelope sender used when Config.ReturnPathDomain is empty ("" is the
	// null sender <>).
	MailFrom string
	RcptTo   string
	// Data is the whole message as signed (CRLF line ends); it is sent unchanged.
	Data []byte
	// NullSender sends with the null reverse path <>, never a VERP: for delivery status
	// notifications and other automatic replies (RFC 5321 section 4.5.5), so that they
	// cannot bounce back and loop.
	NullSender bool
}

// Client delivers messages. It is safe for concurrent use; Close it to close pooled
// connections.
type Client struct {
	cfg     Config
	limiter *delivery.Limiter
	pool    *pool
}

// New validates cfg (every problem at once) and returns a client.
func New(cfg Config) (*Client, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, limiter: delivery.NewLimiter(cfg.Concurrency)}
	c.pool = newPool(cfg.IdleTimeout, cfg.MaxIdlePerDestination, cfg.Now, cfg.Logger)
	return c, nil
}

// Close closes every pooled connection (politely, with QUIT) and stops the idle reaper.
func (c *Client) Close() error {
	c.pool.close()
	return nil
}

// IdleConnections returns how many connections are pooled now.
func (c *Client) IdleConnections() int { return c.pool.size() }

var _ delivery.Sender = (*Client)(nil)

// Send is the delivery worker's Sender port: one attempt of the message to its recipient.
func (c *Client) Send(ctx context.Context, e delivery.Envelope) delivery.AttemptResult {
	return c.Deliver(ctx, Message{ID: e.MessageID, MailFrom: e.MailFrom, RcptTo: e.RcptTo, Data: e.Body})
}

// Deliver makes one delivery attempt of m and reports what happened. It never returns an
// error: every failure is in the result (a reply, or Err with ReplyCode 0), to be judged by
// delivery.Decider. Hosts are tried in order (MX preference, then addresses; or the relays
// in order) until one of them answers the mail transaction; a host that cannot be reached or
// refuses the session is skipped. A null MX (RFC 7505) gives a local 556 5.1.10 and a domain
// that does not exist a local 550 5.1.2, without any connection.
func (c *Client) Deliver(ctx context.Context, m Message) (res delivery.AttemptResult) {
	start := c.cfg.Now()
	tr := newRecorder(c.cfg.Now)
	defer func() {
		res.Duration = c.cfg.Now().Sub(start)
		res.Transcript = tr.String()
		if c.cfg.Logger.Enabled(ctx, slog.LevelDebug) { // the outcome costs a classification
			c.cfg.Logger.Debug("smtpout: attempt ended", "message_id", m.ID, "mx_host", res.MXHost, "ip", res.IP,
				"smtp_stage", string(res.Stage), "smtp_code", res.ReplyCode, "enhanced_code", res.EnhancedCode,
				"outcome", string(res.Outcome()), "tls_version", res.TLSVersion, "duration_ms", res.Duration.Milliseconds())
		}
	}()
	from := m.MailFrom
	switch {
	case m.NullSender:
		from = ""
	case c.cfg.ReturnPathDomain != "":
		rp, err := delivery.EncodeReturnPath(m.ID, c.cfg.ReturnPathDomain)
		if err != nil {
			tr.Note("%v", err)
			return delivery.AttemptResult{Stage: bounce.StageResolve, Local: true, Err: err}
		}
		from = rp
	}
	at := strings.LastIndexByte(m.RcptTo, '@')
	if at <= 0 || at == len(m.RcptTo)-1 || strings.ContainsAny(m.RcptTo, " <>\r\n") {
		tr.Note("bad recipient address %q", m.RcptTo)
		return local(bounce.StageResolve, 550, "5.1.3", fmt.Sprintf("bad recipient address syntax %q", m.RcptTo))
	}
	domain := strings.ToLower(strings.TrimSuffix(m.RcptTo[at+1:], "."))

	var targets []target
	if len(c.cfg.Relays) > 0 {
		for i := range c.cfg.Relays {
			r := c.cfg.Relays[i]
			targets = append(targets, target{name: r.Host, port: r.Port, relay: &r})
		}
	} else {
		port := 25
		if c.cfg.MXPort != 0 {
			port = c.cfg.MXPort
		}
		var err error
		if ip, ok := addressLiteral(domain); ok {
			// An address literal names the host itself: no MX lookup (RFC 5321 section 5.1).
			targets = []target{{name: ip, port: port}}
			tr.Note("%s is an address literal: no MX lookup", domain)
		} else {
			targets, err = mxTargets(ctx, c.cfg.Resolver, domain, port)
		}
		switch {
		case errors.Is(err, errNullMX):
			tr.Note("%s publishes a null MX: it accepts no mail", domain)
			return local(bounce.StageResolve, delivery.NullMXCode, delivery.NullMXStatus, fmt.Sprintf("recipient domain %s does not accept mail (null MX, RFC 7505)", domain))
		case isNoSuchDomain(err):
			tr.Note("%s does not exist", domain)
			return local(bounce.StageResolve, delivery.NoDomainCode, delivery.NoDomainStatus, fmt.Sprintf("recipient domain %s does not exist (NXDOMAIN)", domain))
		case err != nil:
			tr.Note("MX lookup failed: %v", err)
			return delivery.AttemptResult{Stage: bounce.StageResolve, Local: true, Err: err}
		}
		if !strings.HasPrefix(domain, "[") {
			names := make([]string, len(targets))
			for i, t := range targets {
				names[i] = t.name
			}
			tr.Note("MX for %s: %s", domain, strings.Join(names, ", "))
		}
	}

	res = delivery.AttemptResult{Stage: bounce.StageResolve, Local: true, Err: errors.New("smtpout: no host to try")}
	tried := 0
	for _, t := range targets {
		addrs, err := c.addresses(ctx, t)
		if t.implicit && (err == nil && len(addrs) == 0 || isNoSuchDomain(err)) {
			// No MX and no address: the domain cannot receive mail (RFC 5321 section 5.1).
			tr.Note("%s has neither MX nor A/AAAA records", domain)
			return local(bounce.StageResolve, delivery.NoDomainCode, delivery.NoDomainStatus, fmt.Sprintf("recipient domain %s has no MX and no address record", domain))
		}
		if err == nil && len(addrs) == 0 {
			err = fmt.Errorf("smtpout: %s has no A or AAAA record", t.name)
		}
		if err != nil {
			tr.Note("%s: %v", t.name, err)
			res = delivery.AttemptResult{MXHost: t.name, Stage: bounce.StageResolve, Local: true, Err: err}
			continue
		}
		for _, a := range addrs {
			if tried == c.cfg.MaxHosts {
				return res
			}
			tried++
			r, final := c.tryAddr(ctx, t, a, from, m, tr)
			res = r
			if final || ctx.Err() != nil {
				return res
			}
		}
	}
	return res
}

// local is a reply made up here, without asking a server (a null MX, an address it cannot take).
func local(stage bounce.Stage, code int, enhanced, text string) delivery.AttemptResult {
	return delivery.AttemptResult{Stage: stage, Local: true, ReplyCode: code, EnhancedCode: enhanced, ReplyText: text}
}

func (c *Client) addresses(ctx context.Context, t target) ([]string, error) {
	if t.relay != nil || net.ParseIP(t.name) != nil {
		return []string{t.name}, nil // the dialler resolves a relay's name itself
	}
	ips, err := c.cfg.Resolver.HostAddresses(ctx, t.name)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, ip := range orderIPs(ips, c.cfg.PreferIPv6) {
		out = append(out, ip.String())
	}
	return out, nil
}

// addressLiteral returns the IP of an RFC 5321 address literal domain ("[192.0.2.1]",
// "[IPv6:2001:db8::1]").
func addressLiteral(domain string) (string, bool) {
	inner, ok := strings.CutPrefix(domain, "[")
	if !ok {
		return "", false
	}
	inner, ok = strings.CutSuffix(inner, "]")
	if !ok {
		return "", false
	}
	if v6, isV6 := strings.CutPrefix(strings.ToLower(inner), "ipv6:"); isV6 {
		if ip := net.ParseIP(v6); ip != nil && ip.To4() == nil {
			return ip.String(), true
		}
		return "", false
	}
	if ip := net.ParseIP(inner); ip != nil && ip.To4() != nil && !strings.Contains(inner, ":") {
		return ip.String(), true
	}
	return "", false
}

// destination is the concurrency-limit key of a target.
func (t target) destination() string {
	if t.relay != nil {
		return "relay:" + strings.ToLower(t.relay.Addr())
	}
	return strings.ToLower(t.name)
}

// tryAddr runs the attempt against one address. final is false when no mail transaction
// took place (unreachable, session refused), so the next address may be tried.
func (c *Client) tryAddr(ctx context.Context, t target, addr, from string, m Message, tr *recorder) (delivery.AttemptResult, bool) {
	dest := t.destination()
	release, err := c.limiter.Acquire(ctx, dest)
	if err != nil {
		tr.Note("%v", err)
		return delivery.AttemptResult{MXHost: t.name, Stage: bounce.StageConnect, Local: true, Err: err}, true
	}
	defer release()
	hostport := net.JoinHostPort(addr, strconv.Itoa(t.port))
	key := dest + "|" + hostport
	if s := c.pool.get(key); s != nil {
		tr.Note("reusing connection to %s (%s), open for %s", t.name, s.ip, c.cfg.Now().Sub(s.opened).Round(time.Millisecond))
		res, reusable := c.transact(ctx, s, from, m, tr)
		// A pooled connection the server dropped (or is closing: 421) fails at MAIL, before
		// anything was committed: retry once on a new connection.
		if !(res.Stage == bounce.StageMail && (res.ReplyCode == 0 || res.ReplyCode == 421)) {
			c.finish(key, s, reusable)
			return res, true
		}
		tr.Note("reused connection failed before the transaction (%v); opening a new one", res.Err)
		s.closeNow()
	}
	s, res, ok := c.open(ctx, t, hostport, tr, !c.cfg.DisableSTARTTLS)
	if !ok {
		return res, false
	}
	res, reusable := c.transact(ctx, s, from, m, tr)
	c.finish(key, s, reusable)
	return res, true
}

func (c *Client) finish(key string, s *session, reusable bool) {
	if reusable && c.cfg.IdleTimeout > 0 {
		c.pool.put(key, s)
		return
	}
	s.quit()
}

// session is one open SMTP connection, ready for a mail transaction.
type session struct {
	cl       *smtp.Client
	conn     net.Conn // the raw TCP connection
	host, ip string
	tls      *tls.ConnectionState
	tlsError string
	opened   time.Time
	idle     time.Time
}

func (s *session) closeNow() { _ = s.conn.Close() }

func (s *session) quit() {
	_ = s.conn.SetDeadline(time.Now().Add(5 * time.Second))
	s.cl.DebugWriter = nil
	_ = s.cl.Quit()
	_ = s.conn.Close()
}

func (s *session) fill(r *delivery.AttemptResult) {
	r.MXHost, r.IP, r.TLSError = s.host, s.ip, s.tlsError
	if s.tls != nil {
		r.TLSVersion = tls.VersionName(s.tls.Version)
		r.TLSCipher = tls.CipherSuiteName(s.tls.CipherSuite)
	}
}

// greetedConn replays a greeting before the connection's own bytes, so that go-smtp's client
// can start on a connection whose greeting (and STARTTLS) we already handled. With swallowEHLO
// it also replays our EHLO's reply and drops go-smtp's own EHLO line instead of sending it: a
// server that offered no STARTTLS is greeted once, not twice (legal, but a round trip, and
// strict servers refuse a second EHLO).
type greetedConn struct {
	net.Conn
	r           io.Reader
	swallowEHLO bool
}

func (g *greetedConn) Read(p []byte) (int, error) { return g.r.Read(p) }

func (g *greetedConn) Write(p []byte) (int, error) {
	if !g.swallowEHLO {
		return g.Conn.Write(p)
	}
	i := bytes.IndexByte(p, '\n')
	if i < 0 {
		return len(p), nil // still inside the EHLO line
	}
	g.swallowEHLO = false
	if rest := p[i+1:]; len(rest) > 0 {
		if _, err := g.Conn.Write(rest); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// open connects to hostport and brings the session to the point where MAIL may be sent:
// greeting, EHLO, STARTTLS when offered (and tryTLS), AUTH for relays with credentials. A
// failed TLS handshake is recorded and the session reopened in clear on a new connection.
func (c *Client) open(ctx context.Context, t target, hostport string, tr *recorder, tryTLS bool) (*session, delivery.AttemptResult, bool) {
	fail := func(r delivery.AttemptResult) (*session, delivery.AttemptResult, bool) {
		if r.MXHost == "" {
			r.MXHost = t.name
		}
		return nil, r, false
	}
	tr.Note("connecting to %s (%s)", t.name, hostport)
	d := net.Dialer{Timeout: c.cfg.ConnectTimeout}
	raw, err := d.DialContext(ctx, "tcp", hostport)
	if err != nil {
		tr.Note("connect failed: %v", err)
		host, _, _ := net.SplitHostPort(hostport)
		return fail(delivery.AttemptResult{IP: host, Stage: bounce.StageConnect, Local: true, Err: fmt.Errorf("smtpout: connect %s: %w", hostport, err)})
	}
	// Cancelling ctx while the session is being set up closes the connection.
	stop := context.AfterFunc(ctx, func() { _ = raw.Close() })
	defer stop()
	s := &session{conn: raw, host: t.name, opened: c.cfg.Now()}
	if ta, ok := raw.RemoteAddr().(*net.TCPAddr); ok {
		s.ip = ta.IP.String()
	}
	failConn := func(r delivery.AttemptResult) (*session, delivery.AttemptResult, bool) {
		_ = raw.Close()
		s.fill(&r)
		return fail(r)
	}
	var conn net.Conn = raw
	if t.relay != nil && t.relay.ImplicitTLS {
		tc := tls.Client(raw, c.tlsConfig(t))
		_ = raw.SetDeadline(time.Now().Add(c.cfg.CommandTimeout))
		if err := tc.HandshakeContext(ctx); err != nil {
			tr.Note("TLS handshake failed: %v", err)
			return failConn(delivery.AttemptResult{Stage: bounce.StageConnect, Local: true, TLSError: err.Error(), Err: fmt.Errorf("smtpout: tls %s: %w", hostport, err)})
		}
		_ = raw.SetDeadline(time.Time{})
		st := tc.ConnectionState()
		s.tls = &st
		tr.Note("TLS established: %s %s", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite))
		conn = tc
	} else {
		_ = raw.SetDeadline(time.Now().Add(c.cfg.CommandTimeout))
		br := bufio.NewReader(raw)
		code, lines, err := readReply(br)
		for _, l := range lines {
			tr.Server(l)
		}
		if err != nil {
			tr.Note("reading greeting: %v", err)
			return failConn(delivery.AttemptResult{Stage: bounce.StageConnect, Local: true, Err: fmt.Errorf("smtpout: greeting from %s: %w", hostport, err)})
		}
		if code != 220 {
			return failConn(replyResult(bounce.StageConnect, code, lines))
		}
		var ehlo []string // our EHLO's reply, when the session goes on in clear after it
		if tryTLS {
			tc, r, ehloReply, ok := c.startTLS(ctx, t, raw, br, tr)
			if !ok {
				return failConn(r)
			}
			if r.TLSError != "" {
				_ = raw.Close()
				tr.Note("STARTTLS handshake with %s failed: %s; retrying in clear on a new connection", t.name, r.TLSError)
				s2, r2, ok2 := c.open(ctx, t, hostport, tr, false)
				r2.TLSError = r.TLSError
				if s2 != nil {
					s2.tlsError = r.TLSError
				}
				return s2, r2, ok2
			}
			if tc != nil {
				st := tc.ConnectionState()
				s.tls = &st
				tr.Note("TLS established: %s %s", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite))
				conn = tc
			} else {
				ehlo = ehloReply
			}
		}
		if s.tls == nil && br.Buffered() > 0 {
			return failConn(delivery.AttemptResult{Stage: bounce.StageHello, Local: true, Err: fmt.Errorf("smtpout: %s sent data before our command", hostport)})
		}
		_ = raw.SetDeadline(time.Time{})
		replay := "220 greeting already read\r\n"
		if len(ehlo) > 0 {
			replay += strings.Join(ehlo, "\r\n") + "\r\n"
		}
		conn = &greetedConn{Conn: conn, r: io.MultiReader(strings.NewReader(replay), conn), swallowEHLO: len(ehlo) > 0}
		tr.skipSrv = 1 + len(ehlo)
		if len(ehlo) > 0 {
			tr.skipCli = 1 // go-smtp's EHLO, answered from ours
		}
	}
	cl := smtp.NewClient(conn)
	cl.CommandTimeout = c.cfg.CommandTimeout
	cl.SubmissionTimeout = c.cfg.DataTimeout
	cl.DebugWriter = tr
	s.cl = cl
	if err := cl.Hello(c.cfg.Hostname); err != nil {
		tr.skipSrv, tr.skipCli = 0, 0
		return failConn(errResult(bounce.StageHello, err))
	}
	tr.skipSrv, tr.skipCli = 0, 0
	if r := t.relay; r != nil && r.Username != "" {
		ip := net.ParseIP(s.ip)
		if s.tls == nil && (ip == nil || !ip.IsLoopback()) {
			tr.Note("refusing to send AUTH to %s in clear", r.Addr())
			res := delivery.AttemptResult{Stage: bounce.StageAuth, Local: true, Err: fmt.Errorf("smtpout: relay %s: no TLS, refusing AUTH in clear", r.Addr())}
			_ = cl.Quit()
			return failConn(res)
		}
		tr.BeginAuth()
		err := cl.Auth(sasl.NewPlainClient("", r.Username, r.Password))
		tr.EndAuth()
		if err != nil {
			// A failure of our AUTH is deferred whatever its code (bounce.StageAuth).
			return failConn(errResult(bounce.StageAuth, err))
		}
	}
	return s, delivery.AttemptResult{}, true
}

// startTLS sends EHLO and, when offered, STARTTLS on a fresh connection. It returns the TLS
// connection (nil when TLS is not offered or refused: go on in clear, and ehlo is the EHLO
// reply that still holds), or a result with TLSError set when the handshake failed (the
// connection is then unusable). ok is false when the session cannot go on at all.
func (c *Client) startTLS(ctx context.Context, t target, raw net.Conn, br *bufio.Reader, tr *recorder) (_ *tls.Conn, _ delivery.AttemptResult, ehlo []string, ok bool) {
	cmd := func(line string) (int, []string, error) {
		tr.Client(line)
		if _, err := io.WriteString(raw, line+"\r\n"); err != nil {
			return 0, nil, err
		}
		code, lines, err := readReply(br)
		for _, l := range lines {
			tr.Server(l)
		}
		return code, lines, err
	}
	code, lines, err := cmd("EHLO " + c.cfg.Hostname)
	if err != nil {
		return nil, delivery.AttemptResult{Stage: bounce.StageHello, Local: true, Err: fmt.Errorf("smtpout: ehlo: %w", err)}, nil, false
	}
	if code != 250 {
		return nil, delivery.AttemptResult{}, nil, true // the HELO fallback is go-smtp's
	}
	if !hasExtension(lines, "STARTTLS") {
		return nil, delivery.AttemptResult{}, lines, true
	}
	ehloLines := lines
	code, _, err = cmd("STARTTLS")
	if err != nil {
		return nil, delivery.AttemptResult{Stage: bounce.StageHello, Local: true, Err: fmt.Errorf("smtpout: starttls: %w", err)}, nil, false
	}
	if code != 220 {
		// A refused STARTTLS changes nothing (RFC 3207): the EHLO reply still holds.
		tr.Note("STARTTLS refused (%d); continuing in clear", code)
		return nil, delivery.AttemptResult{}, ehloLines, true
	}
	if br.Buffered() > 0 {
		// Bytes after the 220 would be read as if they came through TLS (CVE-2011-0411 style).
		return nil, delivery.AttemptResult{Stage: bounce.StageHello, Local: true, TLSError: "data injected after STARTTLS reply"}, nil, true
	}
	tc := tls.Client(raw, c.tlsConfig(t))
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, delivery.AttemptResult{Stage: bounce.StageHello, TLSError: err.Error()}, nil, true
	}
	return tc, delivery.AttemptResult{}, nil, true
}

func (c *Client) tlsConfig(t target) *tls.Config {
	var cfg *tls.Config
	if t.relay != nil {
		if c.cfg.RelayTLSConfig != nil {
			cfg = c.cfg.RelayTLSConfig.Clone()
		} else {
			cfg = &tls.Config{}
		}
	} else {
		if c.cfg.MXTLSConfig != nil {
			cfg = c.cfg.MXTLSConfig.Clone()
		} else {
			cfg = &tls.Config{InsecureSkipVerify: true} // opportunistic (RFC 7435)
		}
	}
	if cfg.ServerName == "" {
		cfg.ServerName = t.name
	}
	if cfg.MinVersion == 0 {
		cfg.MinVersion = tls.VersionTLS12
	}
	return cfg
}

// transact runs MAIL, RCPT, DATA on an open session; the result's Stage says how far it got.
// reusable says whether the session may carry another transaction.
func (c *Client) transact(ctx context.Context, s *session, from string, m Message, tr *recorder) (delivery.AttemptResult, bool) {
	s.cl.DebugWriter = tr
	// Cancelling ctx aborts the transaction by closing the connection (go-smtp's commands
	// only know deadlines).
	stop := context.AfterFunc(ctx, func() { _ = s.conn.Close() })
	var res delivery.AttemptResult
	done := func(r delivery.AttemptResult, reusable bool) (delivery.AttemptResult, bool) {
		if !stop() {
			reusable = false
			if r.Err != nil {
				r.Err = fmt.Errorf("%w (%w)", r.Err, ctx.Err())
			}
		}
		s.fill(&r)
		// A transaction the server refused part way is reset; one refused here before MAIL
		// was sent, or ended after the final dot, has nothing to reset.
		if reusable && r.Stage != bounce.StageDataEnd && !r.Local {
			if err := s.cl.Reset(); err != nil {
				reusable = false
			}
		}
		return r, reusable
	}
	opts := &smtp.MailOptions{Size: int64(len(m.Data))}
	if !isASCII(from) || !isASCII(m.RcptTo) {
		if ok, _ := s.cl.Extension("SMTPUTF8"); !ok {
			tr.Note("the address needs SMTPUTF8, which %s does not offer", s.host)
			r := local(bounce.StageMail, 553, "5.6.7", "non-ASCII address and the receiving server does not support SMTPUTF8")
			return done(r, true)
		}
		opts.UTF8 = true
	}
	if err := s.cl.Mail(from, opts); err != nil {
		return done(errResult(bounce.StageMail, err), isSMTP(err))
	}
	if err := s.cl.Rcpt(m.RcptTo, nil); err != nil {
		return done(errResult(bounce.StageRcpt, err), isSMTP(err))
	}
	w, err := s.cl.Data()
	if err != nil {
		return done(errResult(bounce.StageData, err), isSMTP(err))
	}
	tr.startContent()
	_, werr := w.Write(m.Data)
	var resp *smtp.DataResponse
	if werr == nil {
		resp, err = w.CloseWithResponse()
	}
	tr.endContent()
	tr.Client(fmt.Sprintf("<message content, %d bytes>", len(m.Data)))
	tr.Client(".")
	if werr != nil {
		tr.Note("sending the message failed: %v", werr)
		return done(delivery.AttemptResult{Stage: bounce.StageDataEnd, Err: fmt.Errorf("smtpout: data: %w", werr)}, false)
	}
	if err != nil {
		var se *smtp.SMTPError
		if errors.As(err, &se) {
			tr.Server(fmt.Sprintf("%d %s", se.Code, strings.ReplaceAll(se.Error(), "\n", " ")))
		} else {
			tr.Note("no reply after the message (it may have been delivered): %v", err)
		}
		return done(errResult(bounce.StageDataEnd, err), isSMTP(err))
	}
	res.Stage = bounce.StageDataEnd
	res.ReplyCode = 250
	res.EnhancedCode, res.ReplyText = splitEnhanced(strings.ReplaceAll(resp.StatusText, "\n", " "))
	line := "250 "
	if res.EnhancedCode != "" {
		line += res.EnhancedCode + " "
	}
	tr.Server(line + res.ReplyText)
	return done(res, true)
}

func isSMTP(err error) bool {
	var se *smtp.SMTPError
	return errors.As(err, &se)
}

// errResult turns a go-smtp error at stage into a result: the reply when the server sent one,
// else a network error (ReplyCode 0).
func errResult(stage bounce.Stage, err error) delivery.AttemptResult {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		r := delivery.AttemptResult{Stage: stage, ReplyCode: se.Code, ReplyText: strings.ReplaceAll(se.Message, "\n", " ")}
		if ec := se.EnhancedCode; ec != (smtp.EnhancedCode{}) && ec != smtp.NoEnhancedCode {
			r.EnhancedCode = fmt.Sprintf("%d.%d.%d", ec[0], ec[1], ec[2])
		}
		return r
	}
	return delivery.AttemptResult{Stage: stage, Err: err}
}

// replyResult turns raw reply lines ("554-..." / "554 ...") at stage into a result.
func replyResult(stage bounce.Stage, code int, lines []string) delivery.AttemptResult {
	var parts []string
	for _, l := range lines {
		if len(l) > 4 {
			parts = append(parts, l[4:])
		}
	}
	enh, text := splitEnhanced(strings.Join(parts, " "))
	return delivery.AttemptResult{Stage: stage, ReplyCode: code, EnhancedCode: enh, ReplyText: text}
}

// splitEnhanced splits "2.0.0 Ok" into ("2.0.0", "Ok").
func splitEnhanced(s string) (string, string) {
	f, rest, _ := strings.Cut(s, " ")
	p := strings.Split(f, ".")
	if len(p) != 3 || len(p[0]) != 1 || p[0] < "2" || p[0] > "5" {
		return "", s
	}
	for _, x := range p[1:] {
		if _, err := strconv.Atoi(x); err != nil || len(x) == 0 || len(x) > 3 {
			return "", s
		}
	}
	return f, rest
}

// readReply reads one (possibly multi-line) SMTP reply.
func readReply(br *bufio.Reader) (int, []string, error) {
	var lines []string
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			return 0, lines, err
		}
		l = strings.TrimRight(l, "\r\n")
		lines = append(lines, l)
		if len(l) < 3 || len(lines) > 100 {
			return 0, lines, fmt.Errorf("malformed reply %q", l)
		}
		code, err := strconv.Atoi(l[:3])
		if err != nil {
			return 0, lines, fmt.Errorf("malformed reply %q", l)
		}
		if len(l) == 3 || l[3] == ' ' {
			return code, lines, nil
		}
		if l[3] != '-' {
			return 0, lines, fmt.Errorf("malformed reply %q", l)
		}
	}
}

func hasExtension(ehlo []string, ext string) bool {
	for _, l := range ehlo[1:] {
		if len(l) > 4 && strings.EqualFold(strings.Fields(l[4:] + " x")[0], ext) {
			return true
		}
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
