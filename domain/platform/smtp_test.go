package platform_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/sqlstore"
	"github.com/posthaste/posthaste/adapters/sqlstore/sqlstoretest"

	"github.com/posthaste/posthaste/domain/platform"
	"github.com/posthaste/posthaste/domain/submission"
	"github.com/posthaste/posthaste/domain/tenancy"
)

// The SMTP listener's ports: authentication by password and by address, and a submission for
// the principal the session authenticated (never another server's).
func TestSMTPSubmissionPorts(t *testing.T) {
	e := newEnv(t, backend{sqlstoretest.SQLite(t), sqlstore.SQLite}, func(d *platform.Deps) { d.AuthFailures = nopLimiter{} })
	ctx := ctxT(t)
	ref := e.tenant(t, "acme", "main", "main.example")
	cred := e.credential(t, ref, tenancy.CredentialSMTP, "")
	ip := e.credential(t, ref, tenancy.CredentialSMTPIP, "203.0.113.0/24")
	s := e.app.SMTPSubmission()
	var _ submission.Authenticator = s
	if s.Limiter() == nil {
		t.Error("no limiter")
	}
	p, err := s.AuthPlain(ctx, cred.Username, cred.Password)
	must(t, err)
	// User names are found whatever their case (moved with the lookup from domain/tenancy).
	if got, err := s.AuthPlain(ctx, strings.ToUpper(cred.Username), cred.Password); err != nil || got.CredentialID != cred.ID {
		t.Errorf("by upper-case user name = %+v, %v", got, err)
	}
	if _, err := s.AuthPlain(ctx, cred.Username, "nope"); !errors.Is(err, submission.ErrBadCredentials) {
		t.Errorf("wrong password: %v", err)
	}
	if got, ok, err := s.ByClientIP(ctx, netip.MustParseAddr("203.0.113.9")); err != nil || !ok || got.CredentialID != ip.ID {
		t.Errorf("by client ip: %+v %v %v", got, ok, err)
	}
	body := []byte("From: ops@main.example\r\nSubject: s\r\n\r\nhi\r\n")
	res, err := s.Submit(ctx, submission.Submission{Principal: p, MailFrom: "ops@main.example", Recipients: []string{"x@remote.test"}, Body: body})
	must(t, err)
	m, err := e.app.Queries.Message(ctx, cli, res.MessageIDs[0])
	must(t, err)
	if m.ServerID != ref.ID() || m.Queued.CredentialID != cred.ID || m.Queued.Source != "smtp" {
		t.Errorf("submitted %+v", m.Queued)
	}
	if _, err := s.Submit(ctx, submission.Submission{MailFrom: "ops@main.example", Recipients: []string{"x@remote.test"}, Body: body}); !errors.Is(err, submission.ErrAuthRequired) {
		t.Errorf("unauthenticated submission: %v", err)
	}
}

type nopLimiter struct{}

func (nopLimiter) Blocked(context.Context, string) (bool, time.Duration, error) { return false, 0, nil }
func (nopLimiter) Fail(context.Context, string) error                           { return nil }
