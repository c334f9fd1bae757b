package platform

import (
	"errors"
	"fmt"

	"github.com/posthaste/posthaste/domain/submission"
)

// Sentinel errors of the application, matched with errors.Is. Edges map them: ErrNotFound to
// 404 / "not found", ErrForbidden to 403, ErrInvalid to 422 / a usage error, ErrBadCredentials to
// 401 / 535, ErrNotConfigured to 503.
var (
	// ErrNotFound: the thing does not exist, or it is outside the caller's scope (the same
	// answer, so a caller cannot learn what other tenants have). Every one is a *NotFoundError.
	ErrNotFound = errors.New("not found")
	// ErrForbidden: the command needs more than the caller is (an organization or user command
	// asked by a server's credential, the event feed of every server asked by a UI user).
	ErrForbidden = errors.New("forbidden")
	// ErrInvalid: the input breaks a rule (a malformed address, a query that does not parse).
	// The domain packages' own ErrInvalid errors are returned as they are.
	ErrInvalid = errors.New("invalid")
	// ErrBadCredentials: an API key, SMTP user name and password, or UI password does not match
	// an active credential (unknown, wrong or revoked: the caller does not learn which).
	ErrBadCredentials = submission.ErrBadCredentials
	// ErrNotConfigured: the query or command needs a port this application was built without.
	ErrNotConfigured = errors.New("not configured")
)

// NotFoundError names what was not found: a Kind ("organization", "server", "domain",
// "credential", "user", "message", "webhook", "webhook delivery", "report") and the Name the
// caller gave. It matches ErrNotFound and the not-found sentinel of the domain package that owns
// the kind (tenancy.ErrNotFound, message.ErrNotFound, webhook.ErrNotFound, inbound.ErrNotFound),
// so edges that test for either keep working.
type NotFoundError struct {
	Kind string
	Name string
	also error  // the owning package's sentinel, nil when it has none
	text string // a more precise message ("" = "<kind> "<name>" not found")
}

func (e *NotFoundError) Error() string {
	if e.text != "" {
		return e.text
	}
	return fmt.Sprintf("%s %q not found", e.Kind, e.Name)
}

// Unwrap returns ErrNotFound and the owning package's sentinel.
func (e *NotFoundError) Unwrap() []error {
	if e.also == nil {
		return []error{ErrNotFound}
	}
	return []error{ErrNotFound, e.also}
}

func notFound(kind, name string, also error) error {
	return &NotFoundError{Kind: kind, Name: name, also: also}
}

// forbidden says which command needs which caller.
func forbidden(what, needs string) error {
	return fmt.Errorf("%s: %w: %s only", what, ErrForbidden, needs)
}

// notConfigured says which port a command lacks.
func notConfigured(what, port string) error {
	return fmt.Errorf("%s: %w: no %s", what, ErrNotConfigured, port)
}

// invalidError is an ErrInvalid error whose text is only the message (edges print it as it is).
type invalidError struct{ msg string }

func (e *invalidError) Error() string { return e.msg }
func (e *invalidError) Unwrap() error { return ErrInvalid }

func invalidf(format string, args ...any) error {
	return &invalidError{msg: fmt.Sprintf(format, args...)}
}
