package httpapi

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"sort"
	"strings"
	"time"

	"github.com/posthaste/posthaste/domain/address"
)

// attachment is one file of a composed message.
type attachment struct {
	Name        string
	ContentType string
	Data        []byte
}

// composed describes a message built from fields (Postal's send/message, v2 send).
type composed struct {
	From, Sender, ReplyTo string
	To, Cc                []string // as given (may carry display names)
	Subject               string
	Tag                   string
	Plain, HTML           string
	Attachments           []attachment
	Headers               map[string]string
	Date                  time.Time
}

// reservedHeaders are written by compose itself; custom headers may not replace them.
var reservedHeaders = map[string]bool{"from": true, "sender": true, "to": true, "cc": true, "bcc": true, "reply-to": true,
	"subject": true, "date": true, "mime-version": true, "content-type": true, "content-transfer-encoding": true}

// validHeaderName reports whether name is an RFC 5322 field name.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c >= 0x7f || c == ':' {
			return false
		}
	}
	return true
}

// headerValue keeps a value on one line and encodes non-ASCII text.
func headerValue(v string) string {
	v = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, v)
	for _, r := range v {
		if r >= 0x80 {
			return mime.QEncoding.Encode("utf-8", v)
		}
	}
	return v
}

// addressHeader renders addresses, encoding display names when needed.
func addressHeader(list []string) string {
	out := make([]string, 0, len(list))
	for _, s := range list {
		if a, err := mail.ParseAddress(s); err == nil {
			out = append(out, a.String())
		} else {
			out = append(out, headerValue(s))
		}
	}
	return strings.Join(out, ", ")
}

// build renders the message with CRLF line endings; boundary seeds the multipart boundaries.
func (c composed) build(boundary string) []byte {
	var b bytes.Buffer
	h := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	h("From", addressHeader([]string{c.From}))
	if c.Sender != "" {
		h("Sender", addressHeader([]string{c.Sender}))
	}
	if len(c.To) > 0 {
		h("To", addressHeader(c.To))
	}
	if len(c.Cc) > 0 {
		h("Cc", addressHeader(c.Cc))
	}
	if c.ReplyTo != "" {
		h("Reply-To", addressHeader([]string{c.ReplyTo}))
	}
	h("Subject", headerValue(c.Subject))
	h("Date", c.Date.Format(time.RFC1123Z))
	if c.Tag != "" {
		h("X-Posthaste-Tag", headerValue(c.Tag))
	}
	names := make([]string, 0, len(c.Headers))
	for k := range c.Headers {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		h(k, headerValue(c.Headers[k]))
	}
	h("MIME-Version", "1.0")
	textPart := func(w *bytes.Buffer, ctype, text string) {
		w.WriteString("Content-Type: " + ctype + "; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
		qp := quotedprintable.NewWriter(w)
		io.WriteString(qp, strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\n", "\r\n"))
		qp.Close()
		w.WriteString("\r\n")
	}
	body := func(w *bytes.Buffer) {
		switch {
		case c.Plain != "" && c.HTML != "":
			alt := "alt-" + boundary
			w.WriteString("Content-Type: multipart/alternative; boundary=\"" + alt + "\"\r\n\r\n")
			w.WriteString("--" + alt + "\r\n")
			textPart(w, "text/plain", c.Plain)
			w.WriteString("--" + alt + "\r\n")
			textPart(w, "text/html", c.HTML)
			w.WriteString("--" + alt + "--\r\n")
		case c.HTML != "":
			textPart(w, "text/html", c.HTML)
		default:
			textPart(w, "text/plain", c.Plain)
		}
	}
	if len(c.Attachments) == 0 {
		body(&b)
		return b.Bytes()
	}
	mixed := "mix-" + boundary
	b.WriteString("Content-Type: multipart/mixed; boundary=\"" + mixed + "\"\r\n\r\n")
	b.WriteString("--" + mixed + "\r\n")
	body(&b)
	for _, a := range c.Attachments {
		ct := a.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		name := mime.QEncoding.Encode("utf-8", a.Name)
		if isASCII(a.Name) {
			name = strings.ReplaceAll(strings.ReplaceAll(a.Name, `\`, `\\`), `"`, `\"`)
		}
		b.WriteString("--" + mixed + "\r\n")
		fmt.Fprintf(&b, "Content-Type: %s; name=\"%s\"\r\nContent-Disposition: attachment; filename=\"%s\"\r\nContent-Transfer-Encoding: base64\r\n\r\n",
			headerValue(ct), name, name)
		enc := base64.StdEncoding.EncodeToString(a.Data)
		for len(enc) > 76 {
			b.WriteString(enc[:76] + "\r\n")
			enc = enc[76:]
		}
		b.WriteString(enc + "\r\n")
	}
	b.WriteString("--" + mixed + "--\r\n")
	return b.Bytes()
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 || s[i] < ' ' {
			return false
		}
	}
	return true
}

// bareAddress extracts the envelope address of "Name <a@b>" or "a@b" (see parseAddress); ok
// false when it is not one.
func bareAddress(s string) (string, bool) {
	addr, err := parseAddress(s)
	return addr, err == nil
}

// parseAddress checks an address field of the API with domain/address: an RFC 5322 mailbox
// (display name and comments allowed, as net/mail does) whose addr-spec is a valid RFC 5321
// mailbox, ASCII only (the API has no SMTPUTF8). It returns the mailbox in RFC 5321 form (a
// quoted local part stays quoted), which is what goes into the envelope.
func parseAddress(s string) (string, error) {
	h, err := address.ParseAddressField(s, address.Options{})
	if err != nil {
		return "", err
	}
	return h.Mailbox.String(), nil
}

// addressProblem is the message of a field error for a refused address.
func addressProblem(err error) string {
	var ae *address.Error
	if errors.As(err, &ae) {
		return "not a valid email address: " + ae.Diagnosis.Text() + " (" + ae.Diagnosis.Name() + ")"
	}
	return "not a valid email address"
}

// toCRLF turns bare LF line endings into CRLF (raw messages from HTTP clients often use LF).
func toCRLF(b []byte) []byte {
	if !bytes.Contains(b, []byte("\n")) {
		return b
	}
	out := make([]byte, 0, len(b)+len(b)/40)
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			out = append(out, '\r')
		}
		if c == '\r' && (i+1 >= len(b) || b[i+1] != '\n') {
			continue // a bare CR is dropped
		}
		out = append(out, c)
	}
	return out
}
