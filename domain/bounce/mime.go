package bounce

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/quotedprintable"
	"regexp"
	"strings"
)

// Limits that keep a hostile message from costing much: nesting depth, parts per message,
// and the input size that Parse looks at.
const (
	maxDepth = 8
	maxParts = 200
	maxInput = 8 << 20
)

// header is a message or part header: folded lines joined, names lower-cased, order kept.
type header struct {
	keys []string
	vals []string
}

func (h header) get(name string) string {
	for i, k := range h.keys {
		if k == name {
			return h.vals[i]
		}
	}
	return ""
}

func (h header) all(name string) []string {
	var out []string
	for i, k := range h.keys {
		if k == name {
			out = append(out, h.vals[i])
		}
	}
	return out
}

// entity is one MIME entity: its header, decoded body, media type and children.
type entity struct {
	hdr       header
	mediaType string
	params    map[string]string
	body      string // transfer-decoded
	parts     []*entity
	inner     *entity // the parsed message of a message/rfc822 part
}

// normalizeNewlines turns CRLF and lone CR into LF.
func normalizeNewlines(b []byte) string {
	s := string(b)
	if strings.IndexByte(s, '\r') < 0 {
		return s
	}
	s = strings.ReplaceAll(s, "\r\r\n", "\n") // CRLF converted twice by a broken relay
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n")
}

// splitHeader reads header fields from s up to the first empty line. It is lenient: a line
// without a colon ends the header unless it is a continuation, and garbage never fails.
func splitHeader(s string) (header, string) {
	var h header
	rest := s
	for {
		if rest == "" {
			return h, ""
		}
		i := strings.IndexByte(rest, '\n')
		var line string
		if i < 0 {
			line, rest = rest, ""
		} else {
			line, rest = rest[:i], rest[i+1:]
		}
		if strings.TrimSpace(line) == "" {
			return h, rest
		}
		if (line[0] == ' ' || line[0] == '\t') && len(h.vals) > 0 {
			h.vals[len(h.vals)-1] += " " + strings.TrimSpace(line)
			continue
		}
		c := strings.IndexByte(line, ':')
		if len(h.vals) > 0 && strings.HasSuffix(h.vals[len(h.vals)-1], ";") && strings.Contains(line, "=") &&
			(c < 0 || strings.IndexByte(line, '=') < c) {
			// An unindented parameter line after "Content-Type: x;": a broken fold.
			h.vals[len(h.vals)-1] += " " + strings.TrimSpace(line)
			continue
		}
		if c <= 0 || strings.ContainsAny(line[:c], " \t") {
			if len(h.keys) == 0 && strings.HasPrefix(line, "From ") {
				continue // mbox separator
			}
			// Not a header line: the body starts here.
			if i < 0 {
				return h, line
			}
			return h, line + "\n" + rest
		}
		h.keys = append(h.keys, strings.ToLower(strings.TrimSpace(line[:c])))
		h.vals = append(h.vals, strings.TrimSpace(line[c+1:]))
	}
}

// parseEntity parses s (LF line endings) as a MIME entity.
func parseEntity(s string, depth int, budget *int) *entity {
	h, body := splitHeader(s)
	e := &entity{hdr: h}
	ct := h.get("content-type")
	if ct == "" {
		ct = "text/plain"
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		mt, params = lenientMediaType(ct)
	}
	e.mediaType, e.params = strings.ToLower(mt), params
	*budget--
	if *budget < 0 || depth > maxDepth {
		e.body = body
		return e
	}
	switch {
	case strings.HasPrefix(e.mediaType, "multipart/"):
		b := params["boundary"]
		if b == "" {
			e.body = body
			return e
		}
		chunks := splitMultipart(body, b)
		if len(chunks) == 0 {
			if g := guessBoundary(body); g != "" {
				chunks = splitMultipart(body, g)
			}
		}
		if len(chunks) == 0 {
			e.body = body // no part found: callers read it as text
		}
		for _, p := range chunks {
			if *budget < 0 {
				break
			}
			e.parts = append(e.parts, parseEntity(p, depth+1, budget))
		}
	case e.mediaType == "message/rfc822" || e.mediaType == "message/global":
		e.body = decodeBody(body, h.get("content-transfer-encoding"))
		e.inner = parseEntity(e.body, depth+1, budget)
	default:
		e.body = decodeBody(body, h.get("content-transfer-encoding"))
	}
	return e
}

// lenientMediaType extracts a media type and a boundary from a Content-Type that
// mime.ParseMediaType refused.
func lenientMediaType(ct string) (string, map[string]string) {
	params := map[string]string{}
	mt := strings.TrimSpace(ct)
	if i := strings.IndexByte(mt, ';'); i >= 0 {
		mt = strings.TrimSpace(mt[:i])
	}
	for _, name := range []string{"boundary", "report-type", "charset"} {
		i := indexFold(ct, name+"=")
		if i < 0 {
			continue
		}
		v := ct[i+len(name)+1:]
		if strings.HasPrefix(v, `"`) {
			v = v[1:]
			if j := strings.IndexByte(v, '"'); j >= 0 {
				v = v[:j]
			}
		} else if j := strings.IndexAny(v, "; \t"); j >= 0 {
			v = v[:j]
		}
		params[name] = v
	}
	return mt, params
}

// splitMultipart splits a multipart body on its boundary lines, tolerating a missing close
// delimiter and trailing white space after a delimiter.
func splitMultipart(body, boundary string) []string {
	delim := "--" + boundary
	var parts []string
	var cur strings.Builder
	in := false
	for _, line := range strings.SplitAfter(body, "\n") {
		t := strings.TrimRight(line, " \t\n")
		if strings.HasPrefix(t, delim) {
			rest := t[len(delim):]
			if rest == "" || rest == "--" {
				if in {
					parts = append(parts, cur.String())
				}
				cur.Reset()
				in = rest == ""
				if rest == "--" {
					break
				}
				if len(parts) >= maxParts {
					break
				}
				continue
			}
		}
		if in {
			cur.WriteString(line)
		}
	}
	if in && cur.Len() > 0 {
		parts = append(parts, cur.String())
	}
	return parts
}

// decodeBody undoes a Content-Transfer-Encoding; undecodable input is returned as it came.
func decodeBody(body, cte string) string {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64":
		clean := strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' || r == '\n' || r == '\r' {
				return -1
			}
			return r
		}, body)
		clean = strings.TrimRight(clean, "=")
		out, err := base64.RawStdEncoding.DecodeString(clean)
		if err != nil {
			// Decode what decodes: trim to a multiple of 4 characters.
			n := len(clean) / 4 * 4
			out, err = base64.RawStdEncoding.DecodeString(clean[:n])
			if err != nil {
				return body
			}
		}
		return normalizeNewlines(out)
	case "quoted-printable":
		out, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(body)))
		if err != nil && len(out) == 0 {
			return body
		}
		return normalizeNewlines(out)
	}
	return body
}

// decodeWords decodes RFC 2047 encoded words; on failure the input is returned.
func decodeWords(s string) string {
	d := mime.WordDecoder{CharsetReader: func(charset string, r io.Reader) (io.Reader, error) {
		return r, nil // keep bytes of unknown charsets; patterns are ASCII
	}}
	out, err := d.DecodeHeader(s)
	if err != nil {
		return s
	}
	return out
}

// walk calls fn for e and every descendant part (not inside message/rfc822 parts).
func (e *entity) walk(fn func(*entity)) {
	fn(e)
	for _, p := range e.parts {
		p.walk(fn)
	}
}

// stripTags turns an HTML body into rough text.
func stripTags(s string) string {
	s = styleRe.ReplaceAllString(s, " ")
	var b bytes.Buffer
	in := false
	low := strings.ToLower(s)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '<':
			in = true
			if strings.HasPrefix(low[i:], "<br") || strings.HasPrefix(low[i:], "<p") ||
				strings.HasPrefix(low[i:], "<div") || strings.HasPrefix(low[i:], "<tr") ||
				strings.HasPrefix(low[i:], "</p") || strings.HasPrefix(low[i:], "</div") ||
				strings.HasPrefix(low[i:], "</tr") || strings.HasPrefix(low[i:], "<li") {
				b.WriteByte('\n')
			}
		case c == '>' && in:
			in = false
			b.WriteByte(' ')
		case !in:
			b.WriteByte(c)
		}
	}
	r := strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&", "&nbsp;", " ", "&quot;", `"`, "&#39;", "'")
	return r.Replace(b.String())
}

// guessBoundary finds the boundary a multipart body really uses when it differs from the
// declared one: the first "--x" line followed by a Content- header line.
func guessBoundary(body string) string {
	lines := strings.Split(body, "\n")
	for i := 0; i+1 < len(lines) && i < 400; i++ {
		l := strings.TrimRight(lines[i], " \t")
		if len(l) > 3 && strings.HasPrefix(l, "--") && !strings.HasSuffix(l, "--") &&
			strings.HasPrefix(strings.ToLower(lines[i+1]), "content-") {
			return l[2:]
		}
	}
	return ""
}

var styleRe = regexp.MustCompile(`(?is)<(style|script|head)\b.*?</(style|script|head)\s*>`)
