package smtpin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"sync/atomic"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/posthaste/posthaste/domain/address"
	"github.com/posthaste/posthaste/domain/submission"
)

type backend struct{ s *Server }

// NewSession is called at every HELO/EHLO after connect and after STARTTLS.
func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	s := b.s
	st := stateOf(c)
	if st == nil { // a connection we did not accept: refuse rather than guess
		return nil, &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Internal error"}
	}
	sess := &session{s: s, conn: c, st: st}
	_, sess.tls = c.TLSConnectionState()
	sess.log = s.log.With("conn_id", st.id, "client_ip", st.ip.String())
	st.transcript.Client("EHLO " + c.Hostname())
	if st.ip.IsValid() {
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.SubmitTimeout)
		p, ok, err := s.cfg.Authenticator.ByClientIP(ctx, st.ip)
		cancel()
		if err != nil {
			sess.log.Error("smtp-ip credential lookup failed", "err", err)
			st.transcript.Server("451 4.3.0 Temporary authentication failure")
			return nil, &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Temporary authentication failure, try again later"}
		}
		if ok {
			sess.principal = &p
			sess.authVia = "smtp-ip"
			st.transcript.Note("authenticated by client IP: credential %s", p.CredentialID)
		}
	}
	return sess, nil
}

type session struct {
	s    *Server
	conn *smtp.Conn
	st   *connState
	log  *slog.Logger
	tls  bool

	principal *submission.Principal
	authVia   string // smtp-ip, plain, login

	mailFrom string
	rcpts    []string
	utf8     bool // SMTPUTF8 on the current MAIL command

	dataActive atomic.Bool // Data is running (for BDAT: in go-smtp's goroutine)
}

// authAllowed: over TLS always; in clear only when configured and the client is on loopback.
func (s *session) authAllowed() bool {
	return s.tls || (s.s.cfg.AllowInsecureAuth && s.st.ip.IsLoopback())
}

func (s *session) AuthMechanisms() []string {
	if !s.authAllowed() {
		return nil
	}
	return []string{sasl.Plain, sasl.Login}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	s.st.transcript.Client("AUTH " + mech)
	if !s.authAllowed() {
		return nil, s.reply(submission.ErrTLSRequired)
	}
	if blocked, retry := s.blocked(); blocked {
		s.log.Warn("auth refused: rate limited", "retry_after", retry)
		return nil, s.reply(submission.ErrAuthRateLimited)
	}
	switch strings.ToUpper(mech) {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, username, password string) error {
			if identity != "" && identity != username {
				return s.authFailed(username, "plain", errors.New("authorization identity differs from user"))
			}
			return s.checkPassword(username, password, "plain")
		}), nil
	case sasl.Login:
		return &loginServer{check: func(username, password string) error {
			return s.checkPassword(username, password, "login")
		}}, nil
	}
	return nil, s.reply(&submission.ReplyError{Code: 504, Enhanced: [3]int{5, 5, 4}, Text: "Unsupported authentication mechanism"})
}

func (s *session) blocked() (bool, string) {
	ctx, cancel := context.WithTimeout(context.Background(), s.s.cfg.SubmitTimeout)
	defer cancel()
	blocked, retry, err := s.s.cfg.Limiter.Blocked(ctx, limiterKey(s.st.ip))
	if err != nil { // fail open: a lost counter must not lock good clients out
		s.log.Error("auth rate limiter unavailable", "err", err)
		return false, ""
	}
	return blocked, retry.String()
}

func (s *session) checkPassword(username, password, mech string) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.s.cfg.SubmitTimeout)
	defer cancel()
	p, err := s.s.cfg.Authenticator.AuthPlain(ctx, username, password)
	if errors.Is(err, submission.ErrBadCredentials) {
		return s.authFailed(username, mech, err)
	}
	if err != nil {
		s.log.Error("auth check failed", "err", err)
		return s.reply(&submission.ReplyError{Code: 454, Enhanced: [3]int{4, 7, 0}, Text: "Temporary authentication failure, try again later"})
	}
	s.principal = &p
	s.authVia = mech
	s.log.Info("smtp auth ok", "mech", mech, "credential_id", p.CredentialID, "server_id", p.ServerID)
	s.st.transcript.Server("235 2.7.0 Authentication successful")
	return nil
}

func (s *session) authFailed(username, mech string, cause error) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.s.cfg.SubmitTimeout)
	defer cancel()
	if err := s.s.cfg.Limiter.Fail(ctx, limiterKey(s.st.ip)); err != nil {
		s.log.Error("auth rate limiter unavailable", "err", err)
	}
	s.log.Warn("smtp auth failed", "mech", mech, "username", username, "err", cause)
	return s.reply(submission.ErrAuthFailed)
}

// Mail validates the reverse path with domain/address (go-smtp has removed the angle brackets
// and the quotes of a quoted local part); "" is the null reverse path. UTF-8 addresses need
// SMTPUTF8 on this MAIL command (RFC 6531).
func (s *session) Mail(from string, opts *smtp.MailOptions) error {
	s.st.transcript.Client("MAIL FROM:<" + from + ">")
	s.mailFrom = ""
	s.rcpts = s.rcpts[:0]
	s.utf8 = opts != nil && opts.UTF8
	m, err := address.ParseSMTPPath(from, address.Options{SMTPUTF8: s.utf8})
	if err != nil {
		return s.addressReply(err, address.Sender)
	}
	s.mailFrom = m.String()
	s.st.transcript.Server("250 2.0.0 sender ok")
	return nil
}

func (s *session) Rcpt(to string, opts *smtp.RcptOptions) error {
	s.st.transcript.Client("RCPT TO:<" + to + ">")
	// The syntax first: a malformed address gets 501/553 5.1.3 whoever asks; the session
	// goes on (the client may send more RCPTs).
	m, err := address.ParseSMTPPath(to, address.Options{SMTPUTF8: s.utf8})
	if err == nil && m.IsZero() {
		err = &address.Error{Input: to, Diagnosis: address.ErrNoAddress}
	}
	if err != nil {
		return s.addressReply(err, address.Recipient)
	}
	if s.principal == nil {
		// Never an open relay: without a credential nothing is accepted for any domain.
		return s.reply(&submission.ReplyError{Code: 550, Enhanced: [3]int{5, 7, 1}, Text: "Relaying denied: authentication required"})
	}
	s.rcpts = append(s.rcpts, m.String())
	s.st.transcript.Server("250 2.1.5 recipient ok")
	return nil
}

// addressReply answers a refused address with the reply its diagnosis implies.
func (s *session) addressReply(err error, role address.Role) error {
	return s.reply(addressRefusal(s.log, err, role))
}

// addressRefusal is the reply to an address domain/address refused (submission and MX).
func addressRefusal(log *slog.Logger, err error, role address.Role) *submission.ReplyError {
	var ae *address.Error
	if !errors.As(err, &ae) {
		return &submission.ReplyError{Code: 501, Enhanced: [3]int{5, 1, 3}, Text: "Bad address syntax"}
	}
	r := ae.Reply(role)
	log.Info("address refused", "role", map[address.Role]string{address.Sender: "sender", address.Recipient: "recipient"}[role],
		"diagnosis", ae.Diagnosis.Name())
	return &submission.ReplyError{Code: r.Code, Enhanced: r.Enhanced, Text: r.Text}
}

// Data reads the message through the bare CR/LF guard and the size limit, then submits it.
// It is used for DATA (r is go-smtp's dot-unstuffing reader) and BDAT (r is the raw chunks).
func (s *session) Data(r io.Reader) error {
	s.dataActive.Store(true)
	defer s.dataActive.Store(false)
	s.st.transcript.Client("DATA")
	if s.principal == nil || len(s.rcpts) == 0 {
		return s.reply(submission.ErrAuthRequired)
	}
	var buf bytes.Buffer
	_, err := io.Copy(&buf, newStrictReader(r, s.s.cfg.MaxMessageBytes))
	if err != nil {
		var re *submission.ReplyError
		switch {
		case errors.As(err, &re):
			s.log.Warn("message refused while reading", "reply", re.Error())
			return s.reply(re)
		case errors.Is(err, smtp.ErrDataTooLarge):
			return s.reply(submission.ErrMessageTooBig)
		case errors.Is(err, smtp.ErrTooLongLine):
			// go-smtp closes the connection after this reply: the rest of the data is unread.
			return s.reply(&submission.ReplyError{Code: 500, Enhanced: [3]int{5, 5, 2}, Text: "Line too long"})
		}
		s.st.transcript.Note("transfer aborted: %v", err)
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.s.cfg.SubmitTimeout)
	defer cancel()
	ip := ""
	if s.st.ip.IsValid() {
		ip = s.st.ip.String()
	}
	res, err := s.s.cfg.Submitter.Submit(ctx, submission.Submission{
		Principal:  *s.principal,
		MailFrom:   s.mailFrom,
		Recipients: append([]string(nil), s.rcpts...),
		Body:       buf.Bytes(),
		ClientIP:   ip,
		TLS:        s.tls,
		Source:     "smtp",
		Helo:       s.conn.Hostname(),
		Protocol:   s.protocol(),
	})
	if err != nil {
		re := submission.AsReply(err)
		if re.Temporary() {
			s.log.Error("submission failed", "reply", re.Error())
		} else {
			s.log.Info("submission refused", "reply", re.Error())
		}
		return s.reply(re)
	}
	s.log.Info("message queued", "submission_id", res.SubmissionID, "recipients", len(res.MessageIDs), "size", res.Size,
		"credential_id", s.principal.CredentialID, "server_id", s.principal.ServerID)
	// go-smtp sends whatever SMTPError Data returns, which lets us carry the submission id.
	return s.reply(&submission.ReplyError{Code: 250, Enhanced: [3]int{2, 0, 0}, Text: "Ok: queued as " + res.SubmissionID})
}

// Reset is called by go-smtp after every transaction and on RSET, EHLO and aborts.
//
// When a BDAT transfer is aborted (oversize chunk, RSET or EHLO mid-transfer) while Data still
// runs in go-smtp's goroutine, go-smtp v0.25 would start the next BDAT transaction by replacing
// a result channel that the old goroutine still reads, so the old transfer's result could be
// answered to the new message (or the new one's goroutine would leak). We close the connection
// instead: the client has its reply (552) or must reconnect anyway.
func (s *session) Reset() {
	if s.dataActive.Load() {
		s.log.Warn("closing the connection after an aborted BDAT transfer")
		s.st.transcript.Note("aborted BDAT transfer: connection closed")
		s.st.conn.Conn.Close()
	}
	s.mailFrom = ""
	s.rcpts = nil
	s.utf8 = false
}

func (s *session) Logout() error { return nil }

// protocol is the RFC 3848 name of this session for the Received header.
func (s *session) protocol() string {
	p := "ESMTP"
	if s.tls {
		p += "S"
	}
	if s.authVia != "" && s.authVia != "smtp-ip" {
		p += "A"
	}
	return p
}

// reply records the reply in the transcript and maps it to go-smtp's error type.
func (s *session) reply(re *submission.ReplyError) error {
	s.st.transcript.Server(fmt.Sprintf("%d %s %s", re.Code, re.EnhancedString(), re.Text))
	return &smtp.SMTPError{Code: re.Code, EnhancedCode: smtp.EnhancedCode(re.Enhanced), Message: re.Text}
}

// limiterKey groups IPv6 clients by /64 (one host usually owns a whole /64).
func limiterKey(ip netip.Addr) string { return "auth:" + connKey(ip) }
