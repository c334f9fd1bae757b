package delivery

import (
	"context"
	"time"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/events"
)

// Queue lists due messages and grants exclusive, expiring claims on them.
//
// Contract: Due returns ids of messages whose next attempt is due at now and that nobody holds a
// live claim on. Claim returns the subset of ids it claimed for owner until now+ttl; a claim
// whose time passed is taken over; two owners never both hold one id. Extend renews owner's
// claims. Release drops owner's claims; released maps each id to the stream version of the last
// event its attempt recorded (0 = none): until the queue has applied that version (or until
// settleUntil), Due does not list the message again, so a queue that lags behind the stream does
// not make workers claim and re-read messages that have nothing left to do.
type Queue interface {
	Due(ctx context.Context, now time.Time, limit int) ([]string, error)
	Claim(ctx context.Context, ids []string, owner string, now time.Time, ttl time.Duration) ([]string, error)
	Extend(ctx context.Context, ids []string, owner string, now time.Time, ttl time.Duration) error
	Release(ctx context.Context, released map[string]int64, owner string, now, settleUntil time.Time) error
}

// Bodies reads stored message bodies.
type Bodies interface {
	Body(ctx context.Context, bodyID string) ([]byte, error)
}

// Signer adds DKIM signatures for a sending domain of a server. A domain without keys gives the
// body back unchanged and no signatures.
type Signer interface {
	Sign(ctx context.Context, serverID, fromDomain string, body []byte) ([]byte, []events.DKIMSignature, error)
}

// Envelope is one delivery: the message id (the sender derives a VERP return path from it),
// the submitted envelope sender, one recipient, the bytes to send.
type Envelope struct {
	MessageID string
	MailFrom  string
	RcptTo    string
	Body      []byte
}

// Sender makes one delivery attempt. It never returns an error: every failure is an
// AttemptResult (a local one when no server replied).
type Sender interface {
	Send(ctx context.Context, env Envelope) AttemptResult
}

// Transcripts stores the SMTP transcript of an attempt and returns its id.
type Transcripts interface {
	SaveTranscript(ctx context.Context, messageID string, attempt int, text string) (string, error)
}

// AttemptRecorder is implemented by transcript stores that are also the event store: they
// record an attempt's transcript (under TranscriptID) and its events in one transaction (one
// durable commit per attempt instead of two). A conflict is a *domain.ConflictError and writes
// nothing.
type AttemptRecorder interface {
	AppendWithTranscript(ctx context.Context, messageID string, attempt int, text string, envs ...events.Envelope) error
}

// Suppressor records that a server must not mail an address again (after a hard bounce).
type Suppressor interface {
	Suppress(ctx context.Context, serverID, address, reason, causedBy string, c domain.Cause) error
}
