package platform

import (
	"context"
	"net/netip"

	"github.com/posthaste/posthaste/domain/submission"
	"github.com/posthaste/posthaste/events"
)

// SMTPSubmission is what the SMTP submission listener needs of the application
// (adapters/smtpin.Config: Submitter, Authenticator, Limiter): the keyed credential lookups and
// the one submission handler. Get it with Application.SMTPSubmission.
type SMTPSubmission struct{ app *Application }

// SMTPSubmission returns the ports of the SMTP submission listener.
func (a *Application) SMTPSubmission() SMTPSubmission { return SMTPSubmission{a} }

// AuthPlain implements submission.Authenticator (Queries.AuthenticateSMTP).
func (s SMTPSubmission) AuthPlain(ctx context.Context, username, password string) (submission.Principal, error) {
	return s.app.Queries.AuthenticateSMTP(ctx, username, password)
}

// ByClientIP implements submission.Authenticator (Queries.AuthenticateSMTPIP).
func (s SMTPSubmission) ByClientIP(ctx context.Context, ip netip.Addr) (submission.Principal, bool, error) {
	return s.app.Queries.AuthenticateSMTPIP(ctx, ip)
}

// Submit accepts a message of an SMTP session for the principal the session authenticated
// (Commands.Submit as that credential's caller; an empty principal is refused with
// submission.ErrAuthRequired).
func (s SMTPSubmission) Submit(ctx context.Context, sub submission.Submission) (submission.Result, error) {
	return s.app.Commands.Submit(ctx, credential(sub.Principal, events.ActorSMTP), sub)
}

// Limiter is the failed-AUTH limiter (Deps.AuthFailures).
func (s SMTPSubmission) Limiter() submission.RateLimiter { return s.app.c.d.AuthFailures }
