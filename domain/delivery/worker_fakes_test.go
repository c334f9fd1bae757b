package delivery

import (
	"context"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/memory"
	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/events"
)

// In-package fakes of the worker's ports, for the attempt tests (worker_attempt_test.go). They
// keep the contracts the worker relies on and record what the worker asked of them.

// t0 is the pinned clock of the attempt tests.
var t0 = time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)

// clock is a pinned clock a test may move.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// seededRand is a deterministic source of event ids, safe for the worker's goroutines.
type seededRand struct {
	mu sync.Mutex
	r  *mrand.ChaCha8
}

func newSeededRand(seed byte) *seededRand {
	return &seededRand{r: mrand.NewChaCha8([32]byte{seed})}
}

func (s *seededRand) Read(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.r.Read(p)
}

// memStore is the in-memory event store made an AttemptRecorder: the transcript of
// AppendWithTranscript is kept only when its append wrote the events (a clash on (stream type,
// stream id, version) is a *domain.ConflictError and writes neither).
type memStore struct {
	*memory.EventStore
	mu          sync.Mutex
	transcripts map[string]string // transcript id → text, written with the attempt's events
	withText    int               // AppendWithTranscript calls that wrote something
	// beforeAppend, when set, runs once before the next append: a concurrent writer.
	beforeAppend func()
}

var (
	_ domain.EventStore = (*memStore)(nil)
	_ AttemptRecorder   = (*memStore)(nil)
)

func newMemStore() *memStore {
	return &memStore{EventStore: memory.NewEventStore(), transcripts: map[string]string{}}
}

func (s *memStore) Append(ctx context.Context, envs ...events.Envelope) error {
	s.runHook()
	return s.EventStore.Append(ctx, envs...)
}

// runHook runs and clears beforeAppend.
func (s *memStore) runHook() {
	s.mu.Lock()
	hook := s.beforeAppend
	s.beforeAppend = nil
	s.mu.Unlock()
	if hook != nil {
		hook()
	}
}

// AppendWithTranscript keeps text under the stores' id of an attempt's transcript,
// TranscriptID(messageID, attempt) ("<message id>.<attempt>"), when the events were written.
func (s *memStore) AppendWithTranscript(ctx context.Context, messageID string, attempt int, text string, envs ...events.Envelope) error {
	s.runHook()
	if err := s.EventStore.Append(ctx, envs...); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.transcripts[TranscriptID(messageID, attempt)] = text
	s.withText++
	return nil
}

// SaveTranscript makes memStore a Transcripts; the worker must prefer AppendWithTranscript.
func (s *memStore) SaveTranscript(ctx context.Context, messageID string, attempt int, text string) (string, error) {
	return "", fmt.Errorf("memStore: SaveTranscript called: the transcript must go with the events")
}

// stream returns the envelopes of one message stream in version order.
func (s *memStore) stream(t *testing.T, id string) []events.Envelope {
	t.Helper()
	recs, err := s.ReadStream(context.Background(), events.StreamMessage, id, 1)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]events.Envelope, len(recs))
	for i, r := range recs {
		out[i] = r.Envelope
	}
	return out
}

// fakeQueue lists its due ids once, claims whatever it is asked for and records releases.
type fakeQueue struct {
	mu       sync.Mutex
	due      []string
	claimed  []string
	released map[string]int64 // id → the version its claim was settled with
	releases int
}

func newFakeQueue() *fakeQueue { return &fakeQueue{released: map[string]int64{}} }

func (q *fakeQueue) setDue(ids ...string) {
	q.mu.Lock()
	q.due = append(q.due, ids...)
	q.mu.Unlock()
}

func (q *fakeQueue) Due(ctx context.Context, now time.Time, limit int) ([]string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := min(limit, len(q.due))
	ids := slices.Clone(q.due[:n])
	q.due = q.due[n:]
	return ids, nil
}

func (q *fakeQueue) Claim(ctx context.Context, ids []string, owner string, now time.Time, ttl time.Duration) ([]string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.claimed = append(q.claimed, ids...)
	return slices.Clone(ids), nil
}

func (q *fakeQueue) Extend(ctx context.Context, ids []string, owner string, now time.Time, ttl time.Duration) error {
	return nil
}

func (q *fakeQueue) Release(ctx context.Context, released map[string]int64, owner string, now, settleUntil time.Time) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.releases++
	for id, v := range released {
		q.released[id] = v
	}
	return nil
}

// releasedVersion returns the version id's claim was released with, and whether it was.
func (q *fakeQueue) releasedVersion(id string) (int64, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	v, ok := q.released[id]
	return v, ok
}

// fakeBodies serves bodies by id and counts the reads.
type fakeBodies struct {
	mu    sync.Mutex
	data  map[string][]byte
	reads map[string]int
}

func (b *fakeBodies) Body(ctx context.Context, id string) ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reads[id]++
	d, ok := b.data[id]
	if !ok {
		return nil, fmt.Errorf("fakeBodies: no body %s", id)
	}
	return d, nil
}

// fakeSigner prepends a DKIM-Signature field naming the body's first bytes, after delay (so
// concurrent attempts overlap), and counts its calls.
type fakeSigner struct {
	delay time.Duration
	mu    sync.Mutex
	calls []string // "serverID/fromDomain"
}

var testSignature = events.DKIMSignature{Domain: "example.org", Selector: "s1", Algorithm: "rsa-sha256"}

func (s *fakeSigner) Sign(ctx context.Context, serverID, fromDomain string, body []byte) ([]byte, []events.DKIMSignature, error) {
	time.Sleep(s.delay)
	s.mu.Lock()
	s.calls = append(s.calls, serverID+"/"+fromDomain)
	s.mu.Unlock()
	signed := append([]byte("DKIM-Signature: v=1; d="+fromDomain+"; s=s1\r\n"), body...)
	return signed, []events.DKIMSignature{testSignature}, nil
}

func (s *fakeSigner) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

// fakeSender answers each recipient with its scripted result (250 when none) and records
// what it was asked to send.
type fakeSender struct {
	mu      sync.Mutex
	replies map[string]AttemptResult // by recipient
	sent    []Envelope
}

func (s *fakeSender) Send(ctx context.Context, env Envelope) AttemptResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, env)
	if r, ok := s.replies[env.RcptTo]; ok {
		return r
	}
	return reply(250, "2.0.0", "OK queued as 4F2A")
}

func (s *fakeSender) envelopes() []Envelope {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sent)
}

// reply is an attempt result as adapters/smtpout reports a remote reply, with a transcript.
func reply(code int, enhanced, text string) AttemptResult {
	return AttemptResult{
		MXHost: "mx.example.net", IP: "192.0.2.25", TLSVersion: "TLS 1.3", TLSCipher: "TLS_AES_128_GCM_SHA256",
		ReplyCode: code, EnhancedCode: enhanced, ReplyText: text, Duration: 120 * time.Millisecond,
		Transcript: fmt.Sprintf("S: 220 mx.example.net ESMTP\nC: EHLO posthaste.test\nC: DATA\nS: %d %s %s\n", code, enhanced, text),
	}
}

// fakeTranscripts is a transcript store apart from the event store.
type fakeTranscripts struct {
	mu    sync.Mutex
	saved map[string]string // "messageID/attempt" → text
	err   error
}

func (f *fakeTranscripts) SaveTranscript(ctx context.Context, messageID string, attempt int, text string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return "", f.err
	}
	key := messageID + "/" + strconv.Itoa(attempt)
	f.saved[key] = text
	return "tr-" + key, nil
}

// fakeSuppressor records suppressions.
type fakeSuppressor struct {
	mu    sync.Mutex
	calls []suppressCall
}

type suppressCall struct {
	serverID, address, reason, causedBy string
	cause                               domain.Cause
}

func (s *fakeSuppressor) Suppress(ctx context.Context, serverID, address, reason, causedBy string, c domain.Cause) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, suppressCall{serverID, address, reason, causedBy, c})
	return nil
}

func (s *fakeSuppressor) recorded() []suppressCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// fakeObserver records outcomes.
type fakeObserver struct {
	mu       sync.Mutex
	outcomes []Outcome
}

func (o *fakeObserver) Attempted(out Outcome, d time.Duration) {
	o.mu.Lock()
	o.outcomes = append(o.outcomes, out)
	o.mu.Unlock()
}

func (o *fakeObserver) recorded() []Outcome {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.outcomes)
}

// logSink is a slog handler keeping every record's level and message.
type logSink struct {
	mu   *sync.Mutex
	recs *[]string
}

func newLogSink() logSink { return logSink{mu: &sync.Mutex{}, recs: &[]string{}} }

func (l logSink) Enabled(context.Context, slog.Level) bool { return true }
func (l logSink) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	*l.recs = append(*l.recs, r.Level.String()+" "+r.Message)
	l.mu.Unlock()
	return nil
}
func (l logSink) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l logSink) WithGroup(string) slog.Handler      { return l }

func (l logSink) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(*l.recs)
}
