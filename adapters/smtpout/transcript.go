package smtpout

import (
	"fmt"
	"strings"
	"time"
)

// transcript records one attempt's SMTP dialogue as lines "C: ..." (client), "S: ..."
// (server) and "* ..." (notes). It is go-smtp's DebugWriter, which sees both directions of
// plain text (above TLS) in one stream: a line is the server's when it starts with a reply
// code ("250 ", "250-"), which no client command or base64 AUTH line can. While AUTH runs,
// client lines are replaced by "<redacted>"; while the message content is sent nothing is
// recorded (its size is noted instead).
type transcript struct {
	lines    []string
	buf      []byte
	mode     int // trNormal, trAuth, trData
	skipSrv  int // server lines to drop (the greeting and EHLO reply replayed after our own EHLO)
	skipCli  int // client lines to drop (go-smtp's EHLO, answered from ours and never sent)
	started  time.Time
	now      func() time.Time
	maxLines int
}

const (
	trNormal = iota
	trAuth
	trData
)

func newTranscript(now func() time.Time) *transcript {
	return &transcript{now: now, started: now(), maxLines: 2000}
}

func (t *transcript) Write(p []byte) (int, error) {
	if t.mode == trData {
		return len(p), nil
	}
	t.buf = append(t.buf, p...)
	for {
		i := strings.IndexByte(string(t.buf), '\n')
		if i < 0 {
			break
		}
		line := strings.TrimRight(string(t.buf[:i]), "\r")
		t.buf = t.buf[i+1:]
		t.line(line)
	}
	return len(p), nil
}

func isReplyLine(l string) bool {
	if len(l) < 3 || l[0] < '2' || l[0] > '5' || l[1] < '0' || l[1] > '9' || l[2] < '0' || l[2] > '9' {
		return false
	}
	return len(l) == 3 || l[3] == ' ' || l[3] == '-'
}

func (t *transcript) line(l string) {
	if isReplyLine(l) {
		if t.skipSrv > 0 {
			t.skipSrv--
			return
		}
		t.server(l)
		return
	}
	if t.skipCli > 0 {
		t.skipCli--
		return
	}
	if t.mode == trAuth {
		if f := strings.Fields(l); len(f) >= 2 && strings.EqualFold(f[0], "AUTH") {
			l = "AUTH " + f[1]
			if len(f) > 2 {
				l += " <redacted>"
			}
		} else {
			l = "<redacted>"
		}
	}
	t.client(l)
}

func (t *transcript) add(prefix, l string) {
	if len(t.lines) == t.maxLines {
		t.lines = append(t.lines, "* transcript truncated")
	}
	if len(t.lines) > t.maxLines {
		return
	}
	t.lines = append(t.lines, prefix+l)
}

func (t *transcript) client(l string) { t.add("C: ", l) }
func (t *transcript) server(l string) { t.add("S: ", l) }
func (t *transcript) note(format string, a ...any) {
	t.add("* ", fmt.Sprintf("%s ", t.now().Sub(t.started).Round(time.Millisecond))+fmt.Sprintf(format, a...))
}

func (t *transcript) String() string {
	if len(t.lines) == 0 {
		return ""
	}
	return strings.Join(t.lines, "\n") + "\n"
}
