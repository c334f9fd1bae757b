// Package transcript records one SMTP conversation for either side of it: the submission
// server of adapters/smtpin and the delivery client of adapters/smtpout. A transcript holds
// client lines, server lines and notes, each with its offset from the start, with the AUTH
// exchange redacted, and renders them in the layout of its side.
//
// It owns the redaction rule and the two layouts. It is pure: standard library only, no I/O.
// It must not see message content: the side that sends or receives DATA records a note of its
// size instead. Storing a transcript is the caller's business.
package transcript

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// Redacted replaces secret material.
const Redacted = "<redacted>"

// The directions of a line.
const (
	Client = "C" // a line the client sent
	Server = "S" // a reply line the server sent
	Note   = "*" // an event that is not a protocol line (TLS established, connection closed)
)

// Line is one recorded line.
type Line struct {
	Offset time.Duration // since the transcript started
	Dir    string        // Client, Server or Note
	Text   string
}

// Layout is how String renders a transcript.
type Layout int

const (
	// Timed prefixes every line with its offset in milliseconds: "+12ms C: EHLO client.test",
	// "+30ms *: connection closed"; lines past the bound end in "... 3 more lines not kept".
	// The submission server's layout.
	Timed Layout = iota
	// Dialogue writes the protocol lines bare and the notes with their offset: "C: EHLO
	// out.test", "S: 250 ok", "* 12ms connecting to mx.example.com (192.0.2.1:25)"; a
	// transcript past its bound ends in "* transcript truncated". The delivery client's
	// layout, stored with every attempt and shown by the CLI.
	Dialogue
)

// Transcript records one conversation. Redaction: an AUTH command keeps its mechanism only
// (an initial response becomes <redacted>), and every client line of the SASL exchange that
// follows, until the server's final (non-334) reply, becomes <redacted>, except the "*" that
// cancels it. A side that runs the exchange itself (a client) may also bracket it with
// BeginAuth and EndAuth: every client line in between but the AUTH command is redacted. It
// is safe for concurrent use.
type Transcript struct {
	mu      sync.Mutex
	clock   func() time.Time
	start   time.Time
	layout  Layout
	max     int
	lines   []Line
	dropped int
	inSASL  bool // from an AUTH command to the server's final reply
	inAuth  bool // between BeginAuth and EndAuth
}

// New starts a transcript at clock's now (nil: time.Now) that keeps at most maxLines lines
// (0: 500); later lines are counted, not kept.
func New(clock func() time.Time, layout Layout, maxLines int) *Transcript {
	if clock == nil {
		clock = time.Now
	}
	if maxLines <= 0 {
		maxLines = 500
	}
	return &Transcript{clock: clock, start: clock(), layout: layout, max: maxLines}
}

// Client records a line the client sent (its line end, if any, is dropped).
func (t *Transcript) Client(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	line = strings.TrimRight(line, "\r\n")
	f := strings.Fields(line)
	command := len(f) > 0 && strings.EqualFold(f[0], "AUTH")
	switch {
	case t.inSASL && line == "*" && !t.inAuth:
		// cancellation is not secret
	case t.inSASL || t.inAuth && !command:
		line = Redacted
	case command:
		t.inSASL = true
		line = "AUTH"
		if len(f) > 1 {
			line += " " + strings.ToUpper(f[1])
		}
		if len(f) > 2 {
			line += " " + Redacted
		}
	}
	t.add(Client, line)
}

// Server records a reply line the server sent. Any reply but 334 ends a SASL exchange.
func (t *Transcript) Server(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	line = strings.TrimRight(line, "\r\n")
	if t.inSASL && !strings.HasPrefix(line, "334") {
		t.inSASL = false
	}
	t.add(Server, line)
}

// BeginAuth starts an AUTH exchange the caller runs itself: until EndAuth every client line
// but the AUTH command is redacted, whatever the server replies.
func (t *Transcript) BeginAuth() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.inAuth = true
}

// EndAuth ends the exchange BeginAuth started, and any SASL exchange in progress.
func (t *Transcript) EndAuth() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.inAuth, t.inSASL = false, false
}

// Note records an event that is not a protocol line.
func (t *Transcript) Note(format string, a ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.add(Note, fmt.Sprintf(format, a...))
}

func (t *Transcript) add(dir, text string) {
	if len(t.lines) >= t.max {
		t.dropped++
		return
	}
	t.lines = append(t.lines, Line{Offset: t.clock().Sub(t.start), Dir: dir, Text: text})
}

// Lines returns a copy of the recorded lines.
func (t *Transcript) Lines() []Line {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Line(nil), t.lines...)
}

// String renders the transcript in its layout, one line each, every line ending in "\n"
// ("" when nothing was recorded).
func (t *Transcript) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var b strings.Builder
	for _, l := range t.lines {
		switch {
		case t.layout == Timed:
			fmt.Fprintf(&b, "+%dms %s: %s\n", l.Offset.Milliseconds(), l.Dir, l.Text)
		case l.Dir == Note:
			fmt.Fprintf(&b, "* %s %s\n", l.Offset.Round(time.Millisecond), l.Text)
		default:
			b.WriteString(l.Dir + ": " + l.Text + "\n")
		}
	}
	if t.dropped > 0 {
		if t.layout == Timed {
			fmt.Fprintf(&b, "... %d more lines not kept\n", t.dropped)
		} else {
			b.WriteString("* transcript truncated\n")
		}
	}
	return b.String()
}
