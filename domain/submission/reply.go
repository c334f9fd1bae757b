package submission

import (
	"errors"
	"fmt"
)

// ReplyError is a refusal the SMTP client must see: reply code, enhanced status code and text.
// Codes 4xx are temporary (the client retries), 5xx permanent. Adapters map it to their
// protocol's error type; HTTP adapters may map it to a problem response.
type ReplyError struct {
	Code     int    // 421, 451, 454, 530, 535, 550, 552, 554 ...
	Enhanced [3]int // e.g. {5, 7, 1}
	Text     string // one line, shown to the client
	Err      error  // optional cause, never shown to the client
}

// Reply builds a ReplyError.
func Reply(code int, enhanced [3]int, format string, a ...any) *ReplyError {
	return &ReplyError{Code: code, Enhanced: enhanced, Text: fmt.Sprintf(format, a...)}
}

func (e *ReplyError) Error() string {
	s := fmt.Sprintf("%d %d.%d.%d %s", e.Code, e.Enhanced[0], e.Enhanced[1], e.Enhanced[2], e.Text)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *ReplyError) Unwrap() error { return e.Err }

// Temporary reports whether the client should try again later (a 4xx reply).
func (e *ReplyError) Temporary() bool { return e.Code/100 == 4 }

// EnhancedString returns the enhanced code as "5.7.1".
func (e *ReplyError) EnhancedString() string {
	return fmt.Sprintf("%d.%d.%d", e.Enhanced[0], e.Enhanced[1], e.Enhanced[2])
}

// AsReply returns the ReplyError inside err, or a generic temporary failure (451 4.3.0) that
// hides err's text from the client.
func AsReply(err error) *ReplyError {
	var re *ReplyError
	if errors.As(err, &re) {
		return re
	}
	return &ReplyError{Code: 451, Enhanced: [3]int{4, 3, 0}, Text: "Temporary local failure, try again later", Err: err}
}

// Replies shared by every submission edge.
var (
	ErrAuthRequired    = &ReplyError{Code: 530, Enhanced: [3]int{5, 7, 0}, Text: "Authentication required"}
	ErrTLSRequired     = &ReplyError{Code: 530, Enhanced: [3]int{5, 7, 0}, Text: "Must issue a STARTTLS command first"}
	ErrAuthFailed      = &ReplyError{Code: 535, Enhanced: [3]int{5, 7, 8}, Text: "Authentication credentials invalid"}
	ErrAuthRateLimited = &ReplyError{Code: 454, Enhanced: [3]int{4, 7, 0}, Text: "Too many failed authentication attempts, try again later"}
	ErrMessageTooBig   = &ReplyError{Code: 552, Enhanced: [3]int{5, 3, 4}, Text: "Message size exceeds fixed maximum message size"}
	ErrBareLF          = &ReplyError{Code: 550, Enhanced: [3]int{5, 6, 0}, Text: "Bare LF not allowed: lines must end with CRLF"}
	ErrBareCR          = &ReplyError{Code: 550, Enhanced: [3]int{5, 6, 0}, Text: "Bare CR not allowed: lines must end with CRLF"}
	ErrNoRecipients    = &ReplyError{Code: 554, Enhanced: [3]int{5, 5, 1}, Text: "No valid recipients"}
)
