package delivery

import (
	"bytes"
	"strings"
)

// withRefField returns body with an X-Posthaste-Ref field prepended (a new slice: the signed
// body is shared by the recipients), in the body's own line ending. A value that could break
// the header (CR, LF) is not added.
func withRefField(body []byte, ref string) []byte {
	if ref == "" || strings.ContainsAny(ref, "\r\n") {
		return body
	}
	eol := "\r\n"
	if i := bytes.IndexByte(body, '\n'); i >= 0 && (i == 0 || body[i-1] != '\r') {
		eol = "\n"
	}
	out := make([]byte, 0, len(body)+len(ref)+20)
	out = append(out, "X-Posthaste-Ref: "...)
	out = append(out, ref...)
	out = append(out, eol...)
	return append(out, body...)
}
