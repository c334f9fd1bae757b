package delivery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/message"
	"github.com/posthaste/posthaste/events"
)

// Queue lists due messages and grants exclusive, expiring claims on them.
//
// Contract: Due returns ids of messages whose next attempt is due at now and that nobody holds a
// live claim on. Claim returns the subset of ids it claimed for owner until now+ttl; a claim
// whose time passed is taken over; two owners never both hold one id. Extend renews owner's
// claims. Release drops owner's claims; released maps each id to the stream version of the last
// event its attempt recorded (0 = none): until the queue has applied that version (or until
// settleUntil), Due does not list the message again, so a queue that lags behind the stream does
// not make workers claim and re-read messages that have nothing left to do.
type Queue interface {
	Due(ctx context.Context, now time.Time, limit int) ([]string, error)
	Claim(ctx context.Context, ids []string, owner string, now time.Time, ttl time.Duration) ([]string, error)
	Extend(ctx context.Context, ids []string, owner string, now time.Time, ttl time.Duration) error
	Release(ctx context.Context, released map[string]int64, owner string, now, settleUntil time.Time) error
}

// Bodies reads stored message bodies.
type Bodies interface {
	Body(ctx context.Context, bodyID string) ([]byte, error)
}

// Signer adds DKIM signatures for a sending domain of a server. A domain without keys gives the
// body back unchanged and no signatures.
type Signer interface {
	Sign(ctx context.Context, serverID, fromDomain string, body []byte) ([]byte, []events.DKIMSignature, error)
}

// Envelope is one delivery: the message id (the sender derives a VERP return path from it),
// the submitted envelope sender, one recipient, the bytes to send.
type Envelope struct {
	MessageID string
	MailFrom  string
	RcptTo    string
	Body      []byte
}

// Sender makes one delivery attempt. It never returns an error: every failure is an
// AttemptResult (a local one when no server replied).
type Sender interface {
	Send(ctx context.Context, env Envelope) AttemptResult
}

// Transcripts stores the SMTP transcript of an attempt and returns its id.
type Transcripts interface {
	SaveTranscript(ctx context.Context, messageID string, attempt int, text string) (string, error)
}

// AttemptRecorder is implemented by transcript stores that are also the event store: they
// record an attempt's transcript (under TranscriptID) and its events in one transaction (one
// durable commit per attempt instead of two). A conflict is a *domain.ConflictError and writes
// nothing.
type AttemptRecorder interface {
	AppendWithTranscript(ctx context.Context, messageID string, attempt int, text string, envs ...events.Envelope) error
}

// Suppressor records that a server must not mail an address again (after a hard bounce).
type Suppressor interface {
	Suppress(ctx context.Context, serverID, address, reason, causedBy string, c domain.Cause) error
}

// WorkerConfig wires a Worker.
type WorkerConfig struct {
	Owner        string // unique per process, e.g. hostname:pid
	Store        domain.EventStore
	Queue        Queue
	Bodies       Bodies
	Signer       Signer // nil = no signing
	Sender       Sender
	Transcripts  Transcripts // nil = transcripts are not kept; an AttemptRecorder writes them with the events
	Suppressor   Suppressor  // nil = no suppression on hard bounce
	Decider      *Decider
	Recorder     domain.Recorder
	Concurrency  int           // attempts in flight (default 32)
	ClaimTTL     time.Duration // default 10m: longer than any attempt
	PollInterval time.Duration // default 200ms when idle
	Logger       *slog.Logger
	Observer     Observer // nil = none
	// Ref returns the value of the X-Posthaste-Ref field added to each message sent (one per
	// recipient, outside the DKIM signature): an HMAC reference that links a bounce whose
	// envelope was lost to the message (domain/inbound.Ref). Nil adds nothing.
	Ref func(messageID string) string
}

// Observer receives attempt outcomes for metrics.
type Observer interface {
	Attempted(outcome Outcome, d time.Duration)
}

// Worker runs delivery attempts.
type Worker struct {
	cfg  WorkerConfig
	wake chan struct{}

	doneMu   sync.Mutex
	done     map[string]int64 // attempted ids whose claims are not released yet → version recorded
	inflight map[string]bool  // claimed ids whose attempt runs: their claims are renewed

	offerMu sync.Mutex
	offered []string  // ids of messages just accepted in this process, not yet claimed
	lastDue time.Time // when poll last asked the queue

	mu     sync.Mutex
	signed map[string]signedBody // body id → signed bytes: a body is signed once, not per recipient
	order  []string
}

type signedBody struct {
	data []byte
	sigs []events.DKIMSignature
}

const signedCacheSize = 256

// maxOffered bounds the ids waiting in Offer; beyond it offers are dropped (the queue lists those
// messages once its projection has applied them).
const maxOffered = 4096

// NewWorker refuses incomplete wiring.
func NewWorker(cfg WorkerConfig) (*Worker, error) {
	var errs []error
	if cfg.Owner == "" {
		errs = append(errs, errors.New("owner is empty"))
	}
	if cfg.Store == nil {
		errs = append(errs, errors.New("store is nil"))
	}
	if cfg.Queue == nil {
		errs = append(errs, errors.New("queue is nil"))
	}
	if cfg.Bodies == nil {
		errs = append(errs, errors.New("bodies is nil"))
	}
	if cfg.Sender == nil {
		errs = append(errs, errors.New("sender is nil"))
	}
	if cfg.Decider == nil {
		errs = append(errs, errors.New("decider is nil"))
	}
	if cfg.Logger == nil {
		errs = append(errs, errors.New("logger is nil"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("delivery: new worker: %w", errors.Join(errs...))
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 32
	}
	if cfg.ClaimTTL <= 0 {
		cfg.ClaimTTL = time.Minute
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 200 * time.Millisecond
	}
	return &Worker{cfg: cfg, wake: make(chan struct{}, 1), signed: map[string]signedBody{}, inflight: map[string]bool{}, done: map[string]int64{}}, nil
}

// Wake makes the worker look for due messages now (e.g. after an acceptance in this process).
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Offer hands the worker messages just accepted in this process (their message.queued is
// committed), so it can claim and attempt them at once instead of waiting for the delivery queue
// projection to apply the events (outbox → relay → bus → runner). It is only a hint: the claim
// still decides who attempts a message, the attempt reads the stream to decide what to do, and a
// message offered to a worker that dies is attempted from the queue once the claim lapsed.
func (w *Worker) Offer(ids ...string) {
	if len(ids) == 0 {
		return
	}
	w.offerMu.Lock()
	n := min(len(ids), maxOffered-len(w.offered))
	if n > 0 {
		w.offered = append(w.offered, ids[:n]...)
	}
	w.offerMu.Unlock()
	w.Wake()
}

// takeOffered returns up to n offered ids, oldest first.
func (w *Worker) takeOffered(n int) []string {
	w.offerMu.Lock()
	defer w.offerMu.Unlock()
	n = min(n, len(w.offered))
	ids := append([]string(nil), w.offered[:n]...)
	w.offered = w.offered[n:]
	if len(w.offered) == 0 {
		w.offered = nil
	}
	return ids
}

// Run polls the queue until ctx ends, then waits for the attempts in flight to be recorded.
func (w *Worker) Run(ctx context.Context) error {
	sem := make(chan struct{}, w.cfg.Concurrency)
	var wg sync.WaitGroup
	// Attempts in flight finish and are recorded even when ctx ends: a SIGTERM drains.
	work := context.WithoutCancel(ctx)
	renewCtx, stopRenew := context.WithCancel(work)
	go w.renewClaims(renewCtx)
	defer func() {
		wg.Wait()
		stopRenew()
		w.releaseFinished(work)
	}()
	for {
		n, err := w.poll(ctx, work, sem, &wg)
		if err != nil && ctx.Err() == nil {
			w.cfg.Logger.Error("delivery: poll failed", "error", err)
		}
		if n > 0 && ctx.Err() == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-w.wake:
		case <-time.After(w.cfg.PollInterval):
		}
	}
}

// poll claims up to the free concurrency and starts an attempt for each claimed message: offered
// messages first, then due ones from the queue. The queue is asked at least every PollInterval
// even while offers keep the worker busy, so retries and older work are not starved.
func (w *Worker) poll(ctx, work context.Context, sem chan struct{}, wg *sync.WaitGroup) (int, error) {
	free := cap(sem) - len(sem)
	// Claim in batches (one transaction each) rather than one message per round trip: wait
	// until a quarter of the slots are free, unless nothing at all is running.
	if free == 0 || (free < max(1, cap(sem)/4) && len(sem) > 0) {
		return 0, nil
	}
	w.releaseFinished(ctx)
	now := w.cfg.Recorder.Now()
	askQueue := now.Sub(w.lastDue) >= w.cfg.PollInterval
	want := free
	if askQueue {
		want = max(1, free/2) // leave room for due work
	}
	ids := w.skipRunning(w.takeOffered(want))
	if askQueue || len(ids) == 0 {
		w.lastDue = now
		due, err := w.cfg.Queue.Due(ctx, now, free-len(ids))
		if err != nil {
			w.unoffer(ids)
			return 0, err
		}
		ids = w.skipRunning(append(ids, due...))
	}
	if len(ids) == 0 {
		return 0, nil
	}
	got, err := w.cfg.Queue.Claim(ctx, ids, w.cfg.Owner, now, w.cfg.ClaimTTL)
	if err != nil {
		return 0, err
	}
	w.doneMu.Lock()
	for _, id := range got {
		w.inflight[id] = true
	}
	w.doneMu.Unlock()
	for _, id := range got {
		sem <- struct{}{}
		wg.Add(1)
		go func(id string) {
			defer func() {
				if r := recover(); r != nil {
					w.cfg.Logger.Error("delivery: attempt panicked", "message_id", id, "panic", r)
				}
				<-sem
				wg.Done()
				// Enough slots are free: look for more due work now rather than at the next
				// poll, claiming in batches rather than one message per round trip.
				if cap(sem)-len(sem) >= max(1, cap(sem)/4) {
					w.Wake()
				}
			}()
			v, err := w.attempt(work, id)
			switch {
			case errors.Is(err, ErrLostRace):
				w.cfg.Logger.Warn("delivery: attempt lost the race", "message_id", id)
			case err != nil:
				w.cfg.Logger.Error("delivery: attempt failed", "message_id", id, "error", err)
			}
			w.finished(id, v)
		}(id)
	}
	return len(got), nil
}

// skipRunning drops duplicates and ids this worker is attempting or has not released yet: Claim
// returns ids the owner already holds, and a second attempt of one of them must not start.
func (w *Worker) skipRunning(ids []string) []string {
	w.doneMu.Lock()
	defer w.doneMu.Unlock()
	seen := make(map[string]bool, len(ids))
	out := ids[:0]
	for _, id := range ids {
		if seen[id] || w.inflight[id] {
			continue
		}
		if _, unreleased := w.done[id]; unreleased {
			continue
		}
		seen[id] = true
		out = append(out, id)
	}
	return out
}

// unoffer puts back offered ids a failed poll took.
func (w *Worker) unoffer(ids []string) {
	if len(ids) == 0 {
		return
	}
	w.offerMu.Lock()
	if len(w.offered)+len(ids) <= maxOffered {
		w.offered = append(ids, w.offered...)
	}
	w.offerMu.Unlock()
}

// finished queues a claim for release: claims are dropped in one statement per poll cycle
// rather than one transaction per message. Until then the claim keeps other workers away from a
// message whose new events the queue read model may not have applied yet.
func (w *Worker) finished(id string, version int64) {
	w.doneMu.Lock()
	delete(w.inflight, id)
	w.done[id] = version
	w.doneMu.Unlock()
}

// renewClaims keeps the claims of running attempts alive until ctx ends. A worker that dies
// stops renewing, so its claims lapse after ClaimTTL and another worker takes the messages.
func (w *Worker) renewClaims(ctx context.Context) {
	t := time.NewTicker(w.cfg.ClaimTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		w.doneMu.Lock()
		ids := make([]string, 0, len(w.inflight))
		for id := range w.inflight {
			ids = append(ids, id)
		}
		w.doneMu.Unlock()
		if err := w.cfg.Queue.Extend(ctx, ids, w.cfg.Owner, w.cfg.Recorder.Now(), w.cfg.ClaimTTL); err != nil && ctx.Err() == nil {
			w.cfg.Logger.Warn("delivery: renew claims", "count", len(ids), "error", err)
		}
	}
}

func (w *Worker) releaseFinished(ctx context.Context) {
	w.doneMu.Lock()
	ids := w.done
	if len(ids) > 0 {
		w.done = map[string]int64{}
	}
	w.doneMu.Unlock()
	if len(ids) == 0 {
		return
	}
	now := w.cfg.Recorder.Now()
	if err := w.cfg.Queue.Release(ctx, ids, w.cfg.Owner, now, now.Add(w.cfg.ClaimTTL)); err != nil {
		// The claims expire on their own after ClaimTTL.
		w.cfg.Logger.Warn("delivery: release claims", "count", len(ids), "error", err)
	}
}

// ErrLostRace is returned by Attempt when another worker recorded the attempt first.
var ErrLostRace = errors.New("delivery: another worker recorded this attempt")

// Attempt runs one delivery attempt of a claimed message and records it. The caller holds
// the claim.
func (w *Worker) Attempt(ctx context.Context, id string) error {
	_, err := w.attempt(ctx, id)
	return err
}

// attempt is Attempt; it also returns the stream version of the last event it recorded (0 when
// it recorded nothing), which the claim's release hands to the queue.
func (w *Worker) attempt(ctx context.Context, id string) (int64, error) {
	recs, err := w.cfg.Store.ReadStream(ctx, events.StreamMessage, id, 1)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", id, err)
	}
	m, err := message.Load(recs)
	if err != nil {
		return 0, err
	}
	now := w.cfg.Recorder.Now()
	if !m.Deliverable(now) {
		// The queue lagged behind the stream: nothing to do. Hand the stream's version to the
		// release so the message is not listed again before the queue caught up.
		return m.Version, nil
	}
	body, sigs, err := w.body(ctx, m)
	if err != nil {
		return 0, err
	}
	attempt := m.Attempts + 1
	if w.cfg.Ref != nil {
		body = withRefField(body, w.cfg.Ref(id))
	}
	res := w.cfg.Sender.Send(ctx, Envelope{MessageID: id, MailFrom: m.Queued.MailFrom, RcptTo: m.Queued.RcptTo, Body: body})
	recorder, withEvents := w.cfg.Transcripts.(AttemptRecorder)
	withEvents = withEvents && res.Transcript != ""
	if withEvents {
		res.TranscriptID = TranscriptID(id, attempt)
	} else if w.cfg.Transcripts != nil && res.Transcript != "" {
		tid, err := w.cfg.Transcripts.SaveTranscript(ctx, id, attempt, res.Transcript)
		if err != nil {
			w.cfg.Logger.Warn("delivery: transcript not stored", "message_id", id, "error", err)
		} else {
			res.TranscriptID = tid
		}
	}
	d, err := w.cfg.Decider.Decide(attempt, w.cfg.Recorder.Now(), res)
	if err != nil {
		return 0, err
	}
	var evs []events.Event
	if !m.Signed && len(sigs) > 0 {
		evs = append(evs, events.MessageSigned{Signatures: sigs})
	}
	evs = append(evs, d.Events...)
	last := recs[len(recs)-1].Envelope
	cause := domain.Cause{
		Actor:         events.Actor{Type: events.ActorSystem, ID: "dispatch"},
		CorrelationID: m.Queued.SubmissionID,
		CausationID:   last.ID,
	}
	envs, err := w.cfg.Recorder.Envelopes(events.StreamMessage, id, m.ServerID, m.Version, cause, evs...)
	if err != nil {
		return 0, err
	}
	if withEvents {
		err = recorder.AppendWithTranscript(ctx, id, attempt, res.Transcript, envs...)
	} else {
		err = w.cfg.Store.Append(ctx, envs...)
	}
	if err != nil {
		if domain.IsConflict(err) {
			return 0, ErrLostRace
		}
		return 0, fmt.Errorf("record attempt %d of %s: %w", attempt, id, err)
	}
	if w.cfg.Observer != nil {
		w.cfg.Observer.Attempted(d.Outcome, res.Duration)
	}
	if d.Suppress && w.cfg.Suppressor != nil {
		causedBy := envs[len(envs)-1].ID
		if err := w.cfg.Suppressor.Suppress(ctx, m.ServerID, m.Queued.RcptTo, "hard_bounce", causedBy, cause); err != nil {
			w.cfg.Logger.Warn("delivery: suppression not recorded", "message_id", id, "error", err)
		}
	}
	return envs[len(envs)-1].StreamVersion, nil
}

// body returns the bytes to send, signed once per body id and shared by its recipients.
func (w *Worker) body(ctx context.Context, m *message.Message) ([]byte, []events.DKIMSignature, error) {
	key := m.Queued.BodyID
	w.mu.Lock()
	sb, ok := w.signed[key]
	w.mu.Unlock()
	if ok {
		return sb.data, sb.sigs, nil
	}
	raw, err := w.cfg.Bodies.Body(ctx, key)
	if err != nil {
		return nil, nil, fmt.Errorf("body %s: %w", key, err)
	}
	sb = signedBody{data: raw}
	if w.cfg.Signer != nil {
		data, sigs, err := w.cfg.Signer.Sign(ctx, m.ServerID, domainOf(m.Queued.HeaderFrom), raw)
		if err != nil {
			return nil, nil, fmt.Errorf("sign %s: %w", key, err)
		}
		sb = signedBody{data: data, sigs: sigs}
	}
	w.mu.Lock()
	if _, ok := w.signed[key]; !ok {
		w.signed[key] = sb
		w.order = append(w.order, key)
		if len(w.order) > signedCacheSize {
			delete(w.signed, w.order[0])
			w.order = w.order[1:]
		}
	}
	w.mu.Unlock()
	return sb.data, sb.sigs, nil
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return strings.ToLower(strings.Trim(addr[i+1:], "> "))
	}
	return ""
}

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
