package tenancy

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MinPasswordLength is the shortest password accepted for a user.
const MinPasswordLength = 12

// commonPasswords are refused whatever their length (a short list: the KDF and the length rule
// do the rest).
var commonPasswords = map[string]bool{
	"password1234": true, "123456789012": true, "qwertyuiopas": true, "passwordpassword": true,
	"letmeinletmein": true, "administrator": true, "posthasteposthaste": true, "changemechangeme": true,
}

// CheckPasswordStrength enforces the user password policy: at least 12 characters, at least
// 5 distinct characters, not a well-known password and not containing the local part of the
// user's email. The error says which rule failed, never the password.
func CheckPasswordStrength(password, email string) error {
	if password == "" {
		return fmt.Errorf("%w: password is missing", ErrInvalid)
	}
	if !utf8.ValidString(password) {
		return fmt.Errorf("%w: password is not valid UTF-8", ErrInvalid)
	}
	for _, r := range password {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: password contains a control character", ErrInvalid)
		}
	}
	n := utf8.RuneCountInString(password)
	if n < MinPasswordLength {
		return fmt.Errorf("%w: password is too weak: %d characters, at least %d required", ErrInvalid, n, MinPasswordLength)
	}
	distinct := map[rune]bool{}
	for _, r := range password {
		distinct[unicode.ToLower(r)] = true
	}
	if len(distinct) < 5 {
		return fmt.Errorf("%w: password is too weak: it uses only %d distinct characters", ErrInvalid, len(distinct))
	}
	lower := strings.ToLower(password)
	if commonPasswords[lower] {
		return fmt.Errorf("%w: password is too weak: it is a well-known password", ErrInvalid)
	}
	if local, _, ok := strings.Cut(strings.ToLower(email), "@"); ok && len(local) >= 4 && strings.Contains(lower, local) {
		return fmt.Errorf("%w: password is too weak: it contains the email's user name", ErrInvalid)
	}
	return nil
}
