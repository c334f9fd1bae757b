package platform

import (
	"context"
	"errors"
	"time"

	"github.com/posthaste/posthaste/domain/address"
	"github.com/posthaste/posthaste/domain/submission"
	"github.com/posthaste/posthaste/events"
)

// Submission: every edge's acceptance of a message (SMTP, the HTTP APIs, send-test) is this one
// handler, composed once.

// Submit accepts a message for the server the caller acts on and makes it durable (body and
// message.queued per recipient in one transaction). For a credential's caller the principal is
// the credential's (s.Principal is replaced); an operator or a UI user names the server in
// s.Principal.ServerID and is recorded as the actor unless s.Actor is set. A UI user's server
// must be one of its own (ErrNotFound otherwise); an operator's is not read (a server that does
// not exist has no verified From domain: the handler refuses it with 550 5.7.1). Refusals the client must see are *submission.ReplyError. The messages
// accepted without a hold are offered to the local delivery workers (OnAccepted).
func (x *Commands) Submit(ctx context.Context, caller Caller, s submission.Submission) (submission.Result, error) {
	switch caller.kind {
	case credentialCaller:
		s.Principal = caller.principal
	case operatorCaller, userCaller:
		if s.Principal.ServerID == "" {
			return submission.Result{}, submission.ErrAuthRequired
		}
		if caller.kind == userCaller { // a server of another organization answers as a missing one
			ref, err := serverRef(s.Principal.ServerID)
			if err != nil {
				return submission.Result{}, err
			}
			if _, err := x.c.server(ctx, caller, ref); err != nil {
				return submission.Result{}, err
			}
		}
		if s.Actor == nil {
			a := caller.Actor()
			s.Actor = &a
		}
	default:
		return submission.Result{}, submission.ErrAuthRequired
	}
	return x.c.submit.Submit(ctx, s)
}

// SendTest is a test message queued through the normal pipeline.
type SendTest struct {
	Server string // ORG/NAME (or the server id, org/name)
	From   string // the From address (display name allowed), a verified domain of the server
	To     string // the recipient (display name allowed)
}

// SendTestResult names what SendTest queued.
type SendTestResult struct {
	SubmissionID string
	MessageID    string // the message stream
	Header       string // the Message-ID header
}

// SendTest queues a small text message exactly as an SMTP submission would (the same checks:
// the From domain must be a verified domain of the server; the same holds), recorded with the
// caller's actor, source "cli".
func (x *Commands) SendTest(ctx context.Context, caller Caller, t SendTest) (SendTestResult, error) {
	rcpt, err := mailbox(t.To)
	if err != nil {
		return SendTestResult{}, err
	}
	mailFrom, err := mailbox(t.From)
	if err != nil {
		return SendTestResult{}, err
	}
	ref, err := serverRef(t.Server)
	if err != nil {
		return SendTestResult{}, err
	}
	srv, err := x.c.server(ctx, caller, ref)
	if err != nil {
		return SendTestResult{}, err
	}
	now := x.c.rec.Now().UTC()
	actor := caller.Actor()
	body := "From: " + t.From + "\r\nTo: " + t.To + "\r\nSubject: Posthaste test message\r\nDate: " + now.Format(time.RFC1123Z) +
		"\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		"This is a test message sent by " + actor.ID + " with posthaste send-test at " + now.Format(time.RFC3339) + ".\r\n"
	res, err := x.c.submit.Submit(ctx, submission.Submission{
		Principal:  submission.Principal{ServerID: srv.ID},
		Actor:      &events.Actor{Type: actor.Type, ID: actor.ID},
		MailFrom:   mailFrom,
		Recipients: []string{rcpt},
		Body:       []byte(body),
		Source:     "cli",
	})
	if err != nil {
		return SendTestResult{}, err
	}
	return SendTestResult{SubmissionID: res.SubmissionID, MessageID: res.MessageIDs[0], Header: res.MessageID}, nil
}

// mailbox checks an address given by a person (display name and comments allowed, the address
// itself a valid RFC 5321 mailbox, ASCII only) and returns the mailbox in RFC 5321 form.
func mailbox(s string) (string, error) {
	h, err := address.ParseAddressField(s, address.Options{})
	if err != nil {
		var ae *address.Error
		if errors.As(err, &ae) {
			return "", invalidf("%q is not a valid email address: %s (%s)", s, ae.Diagnosis.Text(), ae.Diagnosis.Name())
		}
		return "", invalidf("%v", err)
	}
	return h.Mailbox.String(), nil
}
