package domain

import "errors"

// IsConflict reports whether err is (or wraps) a stream version conflict.
func IsConflict(err error) bool { return errors.Is(err, ErrConflict) }
