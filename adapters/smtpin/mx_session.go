package smtpin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/emersion/go-smtp"

	"github.com/posthaste/posthaste/domain/address"
	"github.com/posthaste/posthaste/domain/inbound"
	"github.com/posthaste/posthaste/domain/submission"
)

type mxBackend struct{ m *MXServer }

func (b *mxBackend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	st := stateOf(c)
	if st == nil {
		return nil, &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Internal error"}
	}
	s := &mxSession{m: b.m, st: st}
	_, s.tls = c.TLSConnectionState()
	s.log = b.m.log.With("conn_id", st.id, "client_ip", st.ip.String())
	return s, nil
}

// mxSession accepts reports for the return-path domain. It offers no AUTH (it does not
// implement go-smtp's AuthSession), so nothing it accepts can be relayed.
type mxSession struct {
	m   *MXServer
	st  *connState
	log *slog.Logger
	tls bool

	mailFrom   string
	utf8       bool // SMTPUTF8 given with MAIL
	rcpts      []string
	dataActive atomic.Bool
}

func (s *mxSession) Mail(from string, opts *smtp.MailOptions) error {
	s.mailFrom = from // "" (the null sender of a DSN) is the usual case
	s.utf8 = opts != nil && opts.UTF8
	s.rcpts = s.rcpts[:0]
	return nil
}

func (s *mxSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	m, err := address.ParseSMTPPath(to, address.Options{SMTPUTF8: s.utf8})
	if err == nil && m.IsZero() {
		err = &address.Error{Input: to, Diagnosis: address.ErrNoAddress}
	}
	if err != nil {
		return mxReply(addressRefusal(s.log, err, address.Recipient))
	}
	to = m.String()
	if !s.m.cfg.Receiver.AcceptsDomain(to[strings.LastIndexByte(to, '@')+1:]) {
		s.log.Info("mx: relaying denied", "rcpt", to)
		return mxReply(&submission.ReplyError{Code: 550, Enhanced: [3]int{5, 7, 1}, Text: "Relaying denied"})
	}
	s.rcpts = append(s.rcpts, to)
	return nil
}

// Data reads the report through the bare CR/LF guard and the size limit, stores it durably,
// processes it, and only then answers 250. A failure to store is a temporary failure (the
// reporter retries); a failure to process is not (the report is stored and retried later).
func (s *mxSession) Data(r io.Reader) (err error) {
	s.dataActive.Store(true)
	defer s.dataActive.Store(false)
	defer func() { // go-smtp does not recover: a panic here must not take the listener down
		if p := recover(); p != nil {
			s.log.Error("mx: data handler panicked", "panic", fmt.Sprint(p))
			err = mxReply(&submission.ReplyError{Code: 451, Enhanced: [3]int{4, 3, 0}, Text: "Temporary failure, try again later"})
		}
	}()
	if len(s.rcpts) == 0 {
		return mxReply(&submission.ReplyError{Code: 554, Enhanced: [3]int{5, 5, 1}, Text: "No valid recipients"})
	}
	var buf bytes.Buffer
	if _, err = io.Copy(&buf, newStrictReader(r, s.m.cfg.MaxMessageBytes)); err != nil {
		var re *submission.ReplyError
		switch {
		case errors.As(err, &re):
			s.log.Warn("mx: report refused while reading", "reply", re.Error())
			return mxReply(re)
		case errors.Is(err, smtp.ErrDataTooLarge):
			return mxReply(submission.ErrMessageTooBig)
		case errors.Is(err, smtp.ErrTooLongLine):
			return mxReply(&submission.ReplyError{Code: 500, Enhanced: [3]int{5, 5, 2}, Text: "Line too long"})
		}
		return err
	}
	ip := ""
	if s.st.ip.IsValid() {
		ip = s.st.ip.String()
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.m.cfg.StoreTimeout)
	defer cancel()
	id, err := s.m.cfg.Receiver.Receive(ctx, inbound.Envelope{MailFrom: s.mailFrom,
		RcptTo: append([]string(nil), s.rcpts...), ClientIP: ip, TLS: s.tls, Raw: buf.Bytes()})
	if err != nil {
		s.log.Error("mx: report not stored", "err", err)
		return mxReply(&submission.ReplyError{Code: 451, Enhanced: [3]int{4, 3, 0}, Text: "Temporary failure storing the message, try again later"})
	}
	s.process(ctx, id)
	return mxReply(&submission.ReplyError{Code: 250, Enhanced: [3]int{2, 0, 0}, Text: "Ok: report " + id})
}

// process runs the intake on a stored report; whatever happens, the report is kept.
func (s *mxSession) process(ctx context.Context, id string) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("mx: report processing panicked; it stays stored", "report_id", id, "panic", fmt.Sprint(p))
		}
	}()
	rep, err := s.m.cfg.Receiver.Process(ctx, id)
	if err != nil {
		s.log.Error("mx: report stored but not processed yet", "report_id", id, "err", err)
		return
	}
	s.log.Info("mx: report accepted", "report_id", id, "status", rep.Status, "message_id", rep.MessageID)
}

// Reset: see session.Reset (an aborted BDAT transfer closes the connection).
func (s *mxSession) Reset() {
	if s.dataActive.Load() {
		s.log.Warn("mx: closing the connection after an aborted BDAT transfer")
		s.st.conn.Conn.Close()
	}
	s.mailFrom = ""
	s.rcpts = nil
}

func (s *mxSession) Logout() error { return nil }

func mxReply(re *submission.ReplyError) error {
	return &smtp.SMTPError{Code: re.Code, EnhancedCode: smtp.EnhancedCode(re.Enhanced), Message: re.Text}
}
