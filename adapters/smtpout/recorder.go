package smtpout

import (
	"bytes"
	"time"

	"github.com/posthaste/posthaste/domain/transcript"
)

// maxTranscriptLines bounds the transcript of one attempt.
const maxTranscriptLines = 2000

// recorder writes one attempt's SMTP dialogue into a transcript (transcript.Dialogue layout,
// AUTH redacted by the transcript). It is go-smtp's DebugWriter, which sees both directions of
// plain text (above TLS) in one stream: a line is the server's when it starts with a reply
// code ("250 ", "250-"), which no client command or base64 AUTH line can. While content is
// set (the message is being sent) nothing is recorded; its size is noted instead.
type recorder struct {
	*transcript.Transcript
	buf     []byte
	content bool
	skipSrv int // server lines to drop (the greeting and EHLO reply replayed after our own EHLO)
	skipCli int // client lines to drop (go-smtp's EHLO, answered from ours and never sent)
}

func newRecorder(now func() time.Time) *recorder {
	return &recorder{Transcript: transcript.New(now, transcript.Dialogue, maxTranscriptLines)}
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.content {
		return len(p), nil
	}
	r.buf = append(r.buf, p...)
	for {
		i := bytes.IndexByte(r.buf, '\n')
		if i < 0 {
			break
		}
		line := string(bytes.TrimRight(r.buf[:i], "\r"))
		r.buf = r.buf[i+1:]
		r.line(line)
	}
	return len(p), nil
}

// startContent stops recording while the message content is sent; endContent resumes,
// dropping whatever partial line the content left.
func (r *recorder) startContent() { r.content = true }
func (r *recorder) endContent() {
	r.content = false
	r.buf = r.buf[:0]
}

func isReplyLine(l string) bool {
	if len(l) < 3 || l[0] < '2' || l[0] > '5' || l[1] < '0' || l[1] > '9' || l[2] < '0' || l[2] > '9' {
		return false
	}
	return len(l) == 3 || l[3] == ' ' || l[3] == '-'
}

func (r *recorder) line(l string) {
	if isReplyLine(l) {
		if r.skipSrv > 0 {
			r.skipSrv--
			return
		}
		r.Server(l)
		return
	}
	if r.skipCli > 0 {
		r.skipCli--
		return
	}
	r.Client(l)
}
