package smtpin

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/posthaste/posthaste/domain/submission"
)

// The guard sees every byte, whatever the read boundaries.
func TestStrictReader(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want error
	}{
		{"a\r\nb\r\n", nil},
		{"", nil},
		{"a\nb\r\n", submission.ErrBareLF},
		{"\nb\r\n", submission.ErrBareLF},
		{"a\rb\r\n", submission.ErrBareCR},
		{"a\r\r\n", submission.ErrBareCR},
		{"a\r\n\r", submission.ErrBareCR},
		{"a\r\n.\n", submission.ErrBareLF},
		{strings.Repeat("x", 11) + "\r\n", submission.ErrMessageTooBig},
	} {
		for name, r := range map[string]io.Reader{
			"whole":  strings.NewReader(tc.in),
			"1-byte": iotest.OneByteReader(strings.NewReader(tc.in)),
		} {
			_, err := io.ReadAll(newStrictReader(r, 12))
			if !errors.Is(err, tc.want) && !(err == nil && tc.want == nil) {
				t.Errorf("%q (%s): err %v, want %v", tc.in, name, err, tc.want)
			}
		}
	}
}
