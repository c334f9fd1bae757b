package submission

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/posthaste/posthaste/domain"
)

// Transcript records one SMTP conversation line by line with the AUTH exchange redacted: the
// AUTH command keeps its mechanism only, and every client line of the SASL exchange that
// follows (until the server's final reply) becomes "<redacted>". It works for either side of a
// conversation (submission server or delivery client). Safe for concurrent use.
type Transcript struct {
	mu       sync.Mutex
	clock    domain.Clock
	start    time.Time
	lines    []TranscriptLine
	max      int
	dropped  int
	inSASL   bool
	inClient bool
}

// TranscriptLine is one recorded line. Dir is "C" (client), "S" (server) or "*" (a note).
type TranscriptLine struct {
	Offset time.Duration
	Dir    string
	Text   string
}

// Redacted replaces secret material in transcripts.
const Redacted = "<redacted>"

// NewTranscript starts a transcript that keeps at most maxLines lines (0 = 500); later lines
// are counted, not kept.
func NewTranscript(clock domain.Clock, maxLines int) *Transcript {
	if clock == nil {
		clock = time.Now
	}
	if maxLines <= 0 {
		maxLines = 500
	}
	return &Transcript{clock: clock, start: clock(), max: maxLines}
}

// Client records a line the client sent.
func (t *Transcript) Client(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	line = strings.TrimRight(line, "\r\n")
	switch {
	case t.inSASL && line == "*":
		// cancellation is not secret
	case t.inSASL:
		line = Redacted
	default:
		f := strings.Fields(line)
		if len(f) > 0 && strings.EqualFold(f[0], "AUTH") {
			t.inSASL = true
			line = "AUTH"
			if len(f) > 1 {
				line += " " + strings.ToUpper(f[1])
			}
			if len(f) > 2 {
				line += " " + Redacted
			}
		}
	}
	t.add("C", line)
}

// Server records a reply line the server sent. Any reply but 334 ends a SASL exchange.
func (t *Transcript) Server(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	line = strings.TrimRight(line, "\r\n")
	if t.inSASL && !strings.HasPrefix(line, "334") {
		t.inSASL = false
	}
	t.add("S", line)
}

// Note records an event that is not a protocol line (TLS established, connection closed).
func (t *Transcript) Note(format string, a ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.add("*", fmt.Sprintf(format, a...))
}

func (t *Transcript) add(dir, text string) {
	if len(t.lines) >= t.max {
		t.dropped++
		return
	}
	t.lines = append(t.lines, TranscriptLine{Offset: t.clock().Sub(t.start), Dir: dir, Text: text})
}

// Lines returns a copy of the recorded lines.
func (t *Transcript) Lines() []TranscriptLine {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]TranscriptLine(nil), t.lines...)
}

// String renders the transcript, one "+offset dir text" line each.
func (t *Transcript) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var b strings.Builder
	for _, l := range t.lines {
		fmt.Fprintf(&b, "+%dms %s: %s\n", l.Offset.Milliseconds(), l.Dir, l.Text)
	}
	if t.dropped > 0 {
		fmt.Fprintf(&b, "... %d more lines not kept\n", t.dropped)
	}
	return b.String()
}
