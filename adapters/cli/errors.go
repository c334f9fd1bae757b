package cli

import "fmt"

// usageError is a mistake in how a command was called: exit status 2, with the synopsis.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// exitError ends a command with its own exit status (e.g. 2 for "no signature" in `dkim
// verify`, as dkimpy's verifier does) without the usage hint.
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }

// unknownCommandError is a command line that names no command: exit status 2.
type unknownCommandError struct{ words []string }

func (e unknownCommandError) Error() string { return fmt.Sprintf("unknown command %q", e.words) }
