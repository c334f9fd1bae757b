package submission

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"net/textproto"
	"strings"
	"time"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/address"
	"github.com/posthaste/posthaste/events"
)

// HoldDuration is how long a held message waits for an operator before the hold expires.
const HoldDuration = 7 * 24 * time.Hour

// Submission is one message handed over by a client: the envelope and the raw message.
type Submission struct {
	Principal  Principal
	MailFrom   string   // envelope sender ("" for the null reverse path)
	Recipients []string // envelope recipients, at least one
	Body       []byte   // RFC 5322 message with CRLF line endings
	ClientIP   string
	TLS        bool
	Source     string // smtp, api, cli
	// Actor, when set, is recorded instead of the credential (e.g. cli:<OS user> for send-test).
	Actor *events.Actor
	// For the Received trace header (added when Protocol is set): the client's HELO name and
	// the RFC 3848 protocol (ESMTP, ESMTPS, ESMTPA, ESMTPSA).
	Helo     string
	Protocol string
	// PostalIDs, when set, is called once the submission is valid and its message stream ids are
	// known (in the order of the deduplicated recipients, as in Result.MessageIDs), before
	// anything is written. It returns one Postal id per message stream, in that order (Submit
	// sets each MessageID); they are recorded in the acceptance transaction
	// (Acceptance.PostalIDs), so they exist exactly when the messages do. An error refuses the
	// submission temporarily (451) and nothing is written.
	PostalIDs func(ctx context.Context, messageIDs []string) ([]PostalID, error)
}

// Result tells the client what was accepted.
type Result struct {
	SubmissionID string
	MessageIDs   []string // one message stream per recipient, in the order of Recipients
	MessageID    string   // the Message-ID header, added when the client sent none
	Size         int64
}

// Config wires a Handler.
type Config struct {
	Hostname string // right-hand side of generated Message-IDs
	Domains  Domains
	Acceptor Acceptor
	Holds    HoldPolicy   // nil = only credential holds
	Clock    domain.Clock // time.Now when nil
	Random   io.Reader    // crypto/rand when nil
}

// Handler runs the Submit command.
type Handler struct {
	hostname string
	domains  Domains
	acceptor Acceptor
	holds    HoldPolicy
	clock    domain.Clock
	random   io.Reader
}

// NewHandler refuses missing dependencies.
func NewHandler(cfg Config) (*Handler, error) {
	var errs []error
	if strings.TrimSpace(cfg.Hostname) == "" {
		errs = append(errs, errors.New("hostname is empty"))
	}
	if cfg.Domains == nil {
		errs = append(errs, errors.New("domains is nil"))
	}
	if cfg.Acceptor == nil {
		errs = append(errs, errors.New("acceptor is nil"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("submission: new handler: %w", errors.Join(errs...))
	}
	h := &Handler{hostname: strings.TrimSuffix(cfg.Hostname, "."), domains: cfg.Domains, acceptor: cfg.Acceptor, holds: cfg.Holds, clock: cfg.Clock, random: cfg.Random}
	if h.clock == nil {
		h.clock = time.Now
	}
	return h, nil
}

// Submit validates a submission and makes it durable. It returns a *ReplyError for every
// refusal the client must see (5xx permanent, 4xx temporary); nothing is written when it
// returns an error.
func (h *Handler) Submit(ctx context.Context, s Submission) (Result, error) {
	if s.Principal.ServerID == "" {
		return Result{}, ErrAuthRequired
	}
	rcpts := dedupe(s.Recipients)
	if len(rcpts) == 0 {
		return Result{}, ErrNoRecipients
	}
	if err := checkEnvelope(s.MailFrom, rcpts); err != nil {
		return Result{}, err
	}
	hdr, err := parseHeader(s.Body)
	if err != nil {
		return Result{}, err
	}
	from, err := fromAddresses(hdr)
	if err != nil {
		return Result{}, err
	}
	for _, a := range from {
		d := addressDomain(a.Address)
		ok, err := h.domains.IsVerifiedSenderDomain(ctx, s.Principal.ServerID, d)
		if err != nil {
			return Result{}, &ReplyError{Code: 451, Enhanced: [3]int{4, 3, 0}, Text: "Temporary failure checking the From domain, try again later",
				Err: fmt.Errorf("submission: verified domain %s: %w", d, err)}
		}
		if !ok {
			return Result{}, Reply(550, [3]int{5, 7, 1}, "From domain %s is not a verified domain of this server", d)
		}
	}

	now := h.clock().UTC()
	submissionID := events.NewID(now, h.random)
	// The stored body: trace header and Message-ID on top, Bcc removed (it must not reach the
	// recipients), the rest exactly as submitted.
	var top []byte
	if s.Protocol != "" {
		top = append(top, h.received(s, submissionID, now)...)
	}
	msgID := strings.TrimSpace(hdr.Get("Message-Id"))
	if msgID == "" {
		msgID = "<" + submissionID + "@" + h.hostname + ">"
		top = append(top, "Message-ID: "+msgID+"\r\n"...)
	}
	rest := stripHeader(s.Body, "Bcc")
	body := rest
	if len(top) > 0 {
		body = append(top[:len(top):len(top)], rest...)
	}
	tag := strings.TrimSpace(hdr.Get("X-Posthaste-Tag"))
	if tag == "" {
		tag = strings.TrimSpace(hdr.Get("X-Postal-Tag"))
	}
	source := s.Source
	if source == "" {
		source = "smtp"
	}
	actorType := events.ActorSMTP
	if source == "api" {
		actorType = events.ActorAPI
	}
	payload := events.MessageQueued{
		SubmissionID: submissionID,
		BodyID:       submissionID,
		MailFrom:     s.MailFrom,
		HeaderFrom:   from[0].Address,
		HeaderTo:     headerAddresses(hdr, "To"),
		Subject:      decodeHeader(hdr.Get("Subject")),
		MessageID:    msgID,
		Size:         int64(len(body)),
		Tag:          tag,
		CredentialID: s.Principal.CredentialID,
		ClientIP:     s.ClientIP,
		TLS:          s.TLS,
		Source:       source,
	}
	actor := events.Actor{Type: actorType, ID: s.Principal.CredentialID}
	if s.Actor != nil {
		actor = *s.Actor
	}
	res := Result{SubmissionID: submissionID, MessageID: msgID, Size: int64(len(body))}
	acc := Acceptance{SubmissionID: submissionID, ServerID: s.Principal.ServerID, BodyID: submissionID, Body: body}
	for _, rcpt := range rcpts {
		id := events.NewID(now, h.random)
		p := payload
		p.RcptTo = rcpt
		queued, err := events.New(p, events.Meta{ID: events.NewID(now, h.random), StreamType: events.StreamMessage, StreamID: id,
			StreamVersion: 1, ServerID: s.Principal.ServerID, OccurredAt: now, Actor: actor, CorrelationID: submissionID})
		if err != nil {
			return Result{}, fmt.Errorf("submission: build message.queued: %w", err)
		}
		acc.Events = append(acc.Events, queued)
		reason, details := "", ""
		if s.Principal.Hold {
			reason, details = events.HoldCredential, "the credential is set to hold"
		} else if h.holds != nil {
			reason, details, err = h.holds.HoldReason(ctx, s.Principal.ServerID, rcpt)
			if err != nil {
				return Result{}, &ReplyError{Code: 451, Enhanced: [3]int{4, 3, 0}, Text: "Temporary failure checking hold rules, try again later",
					Err: fmt.Errorf("submission: hold rules for %s: %w", rcpt, err)}
			}
		}
		if reason != "" {
			held, err := events.New(events.MessageHeld{Reason: reason, Details: details, Expires: now.Add(HoldDuration)},
				events.Meta{ID: events.NewID(now, h.random), StreamType: events.StreamMessage, StreamID: id, StreamVersion: 2,
					ServerID: s.Principal.ServerID, OccurredAt: now, Actor: actor, CorrelationID: submissionID, CausationID: queued.ID})
			if err != nil {
				return Result{}, fmt.Errorf("submission: build message.held: %w", err)
			}
			acc.Events = append(acc.Events, held)
		}
		res.MessageIDs = append(res.MessageIDs, id)
	}
	if s.PostalIDs != nil {
		ids, err := s.PostalIDs(ctx, res.MessageIDs)
		if err == nil && len(ids) != len(res.MessageIDs) {
			err = fmt.Errorf("%d postal ids for %d messages", len(ids), len(res.MessageIDs))
		}
		if err != nil {
			return Result{}, &ReplyError{Code: 451, Enhanced: [3]int{4, 3, 0}, Text: "Temporary failure storing the message, try again later",
				Err: fmt.Errorf("submission: postal ids of %s: %w", submissionID, err)}
		}
		for i := range ids {
			ids[i].MessageID = res.MessageIDs[i]
		}
		acc.PostalIDs = ids
	}
	if err := h.acceptor.Accept(ctx, acc); err != nil {
		return Result{}, &ReplyError{Code: 451, Enhanced: [3]int{4, 3, 0}, Text: "Temporary failure storing the message, try again later",
			Err: fmt.Errorf("submission: accept %s: %w", submissionID, err)}
	}
	return res, nil
}

// dedupe drops empty and repeated recipients (the domain part compared case-insensitively).
func dedupe(rcpts []string) []string {
	seen := make(map[string]bool, len(rcpts))
	out := make([]string, 0, len(rcpts))
	for _, r := range rcpts {
		r = strings.TrimSpace(r)
		if r == "" {
			continue
		}
		k := envelopeKey(r)
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, r)
	}
	return out
}

// envelopeKey is the form recipients are compared by: domain/address's canonical form (domain
// lower-cased, `"a"@x` equal to `a@x`), or the domain lower-cased when r is no mailbox.
func envelopeKey(r string) string {
	if m, err := address.ParseMailbox(r, address.Options{SMTPUTF8: true}); err == nil {
		return m.Canonical()
	}
	if i := strings.LastIndexByte(r, '@'); i >= 0 {
		return r[:i] + "@" + strings.ToLower(r[i+1:])
	}
	return r
}

// checkEnvelope refuses a reverse path or recipient that is no RFC 5321 mailbox, with the reply
// domain/address gives it (501/553 5.1.7 for the sender, 5.1.3 for a recipient). The edges
// (SMTP, API, CLI) check first and know whether SMTPUTF8 applies; this is the last line for
// any caller, so UTF-8 is allowed here.
func checkEnvelope(mailFrom string, rcpts []string) error {
	check := func(a string, role address.Role) error {
		_, err := address.ParseMailbox(a, address.Options{SMTPUTF8: true})
		var ae *address.Error
		if !errors.As(err, &ae) {
			return err
		}
		r := ae.Reply(role)
		return &ReplyError{Code: r.Code, Enhanced: r.Enhanced, Text: r.Text, Err: fmt.Errorf("submission: address %q: %w", a, err)}
	}
	if mailFrom != "" {
		if err := check(mailFrom, address.Sender); err != nil {
			return err
		}
	}
	for _, r := range rcpts {
		if err := check(r, address.Recipient); err != nil {
			return err
		}
	}
	return nil
}

var errMalformedHeader = &ReplyError{Code: 554, Enhanced: [3]int{5, 6, 0}, Text: "Message header is malformed"}

// parseHeader reads the header section (up to the first empty line, or the whole message).
func parseHeader(body []byte) (textproto.MIMEHeader, error) {
	end := bytes.Index(body, []byte("\r\n\r\n"))
	var head []byte
	switch {
	case bytes.HasPrefix(body, []byte("\r\n")):
		head = nil // no header at all
	case end >= 0:
		head = body[:end+2]
	default:
		head = body
		if !bytes.HasSuffix(head, []byte("\r\n")) {
			head = append(append([]byte{}, head...), "\r\n"...)
		}
	}
	head = append(append([]byte{}, head...), "\r\n"...)
	h, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(head))).ReadMIMEHeader()
	if err != nil {
		return nil, &ReplyError{Code: errMalformedHeader.Code, Enhanced: errMalformedHeader.Enhanced, Text: errMalformedHeader.Text, Err: err}
	}
	return h, nil
}

// permissive decodes encoded words of any charset well enough to find addresses.
var permissive = &mime.WordDecoder{CharsetReader: func(_ string, r io.Reader) (io.Reader, error) { return r, nil }}

func fromAddresses(h textproto.MIMEHeader) ([]*mail.Address, error) {
	vals := h.Values("From")
	switch {
	case len(vals) == 0:
		return nil, Reply(550, [3]int{5, 6, 0}, "Message has no From header")
	case len(vals) > 1:
		return nil, Reply(550, [3]int{5, 7, 1}, "Message has more than one From header")
	}
	p := mail.AddressParser{WordDecoder: permissive}
	list, err := p.ParseList(vals[0])
	if err != nil || len(list) == 0 {
		return nil, &ReplyError{Code: 550, Enhanced: [3]int{5, 6, 0}, Text: "From header is not a valid address", Err: err}
	}
	return list, nil
}

func addressDomain(addr string) string {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return ""
	}
	return strings.TrimSuffix(strings.ToLower(addr[i+1:]), ".")
}

func headerAddresses(h textproto.MIMEHeader, key string) []string {
	var out []string
	p := mail.AddressParser{WordDecoder: permissive}
	for _, v := range h.Values(key) {
		list, err := p.ParseList(v)
		if err != nil {
			out = append(out, strings.TrimSpace(v))
			continue
		}
		for _, a := range list {
			out = append(out, a.Address)
		}
	}
	return out
}

func decodeHeader(v string) string {
	v = strings.TrimSpace(v)
	if d, err := permissive.DecodeHeader(v); err == nil {
		return d
	}
	return v
}

// received renders the Received trace header (RFC 5321 section 4.4) for a submission.
func (h *Handler) received(s Submission, id string, now time.Time) string {
	helo := sanitizeTrace(s.Helo)
	if helo == "" {
		helo = "unknown"
	}
	from := helo
	if s.ClientIP != "" {
		from += " ([" + sanitizeTrace(s.ClientIP) + "])"
	}
	return "Received: from " + from + "\r\n\tby " + h.hostname + " (Posthaste) with " + sanitizeTrace(s.Protocol) +
		" id " + id + ";\r\n\t" + now.Format(time.RFC1123Z) + "\r\n"
}

// sanitizeTrace keeps a client-supplied word from breaking the header it is written into.
func sanitizeTrace(v string) string {
	return strings.Map(func(r rune) rune {
		if r <= ' ' || r == 0x7f || r == '(' || r == ')' || r == ';' {
			return -1
		}
		return r
	}, v)
}

// stripHeader removes every field named name (with its folded continuation lines) from the
// header section of msg. It returns msg itself when there is none.
func stripHeader(msg []byte, name string) []byte {
	var out []byte
	dropping := false
	i := 0
	for i < len(msg) {
		end := bytes.Index(msg[i:], []byte("\r\n"))
		if end < 0 {
			end = len(msg) - i
		} else {
			end += 2
		}
		line := msg[i : i+end]
		if len(line) <= 2 && bytes.Equal(line, []byte("\r\n")) { // end of the header section
			break
		}
		switch {
		case line[0] == ' ' || line[0] == '\t':
			// a continuation keeps the decision of its field
		default:
			colon := bytes.IndexByte(line, ':')
			dropping = colon > 0 && strings.EqualFold(strings.TrimRight(string(line[:colon]), " \t"), name)
		}
		if dropping && out == nil {
			out = append(make([]byte, 0, len(msg)), msg[:i]...)
		}
		if !dropping && out != nil {
			out = append(out, line...)
		}
		i += end
	}
	if out == nil {
		return msg
	}
	return append(out, msg[i:]...)
}
