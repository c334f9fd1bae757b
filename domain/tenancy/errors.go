package tenancy

import "errors"

// Sentinel errors, matched with errors.Is. Messages built on them name the thing concerned.
var (
	// ErrAlreadyExists: a create met an existing stream (version 1 conflict).
	ErrAlreadyExists = errors.New("already exists")
	// ErrNotFound: the referenced org, server, domain, user or credential has no stream.
	ErrNotFound = errors.New("not found")
	// ErrInvalid: the input breaks a policy (malformed name, weak password, bad CIDR...).
	ErrInvalid = errors.New("invalid")
)
