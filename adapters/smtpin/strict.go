package smtpin

import (
	"io"

	"github.com/posthaste/posthaste/domain/submission"
)

// strictReader passes message bytes through while refusing SMTP smuggling material: every CR
// must be followed by LF and every LF preceded by CR, across chunk boundaries. It also
// enforces the size limit while reading, so an oversize message is refused before it is
// buffered whole.
//
// For DATA it reads go-smtp's dot-unstuffing reader, whose end of data is strictly
// CRLF "." CRLF (so "\n.\r\n" never ends a message) and which passes bare LF and bare CR
// through: they are seen here. One case is not visible here: go-smtp drops the CR of a line
// beginning ".\r" not followed by LF, so that CR never reaches the stored message either. For
// BDAT it reads the raw chunks, byte for byte.
type strictReader struct {
	r      io.Reader
	max    int64
	n      int64
	prevCR bool
	err    error
}

func newStrictReader(r io.Reader, max int64) *strictReader {
	return &strictReader{r: r, max: max}
}

func (s *strictReader) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.r.Read(p)
	for i := 0; i < n; i++ {
		b := p[i]
		if s.prevCR && b != '\n' {
			s.err = submission.ErrBareCR
			return 0, s.err
		}
		if b == '\n' && !s.prevCR {
			s.err = submission.ErrBareLF
			return 0, s.err
		}
		s.prevCR = b == '\r'
	}
	s.n += int64(n)
	if s.max > 0 && s.n > s.max {
		s.err = submission.ErrMessageTooBig
		return 0, s.err
	}
	if err == io.EOF && s.prevCR {
		s.err = submission.ErrBareCR
		return 0, s.err
	}
	return n, err
}
