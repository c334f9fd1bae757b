package delivery

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/message"
	"github.com/posthaste/posthaste/events"
)

// ErrLostRace is returned by Attempt when another worker recorded the attempt first.
var ErrLostRace = errors.New("delivery: another worker recorded this attempt")

// signedCacheSize bounds the signed bodies kept for the other recipients of their submission.
const signedCacheSize = 256

// signedBody is a body as sent: signed once, shared by every recipient of its submission.
// ready is closed when data, sigs and err are set; an entry whose load failed leaves the cache.
type signedBody struct {
	ready chan struct{}
	data  []byte
	sigs  []events.DKIMSignature
	err   error
}

// errLoadAborted is what waiters of a body load see when the load panicked.
var errLoadAborted = errors.New("delivery: reading or signing the body did not finish")

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

// body returns the bytes to send, read and signed once per body id and shared by its
// recipients: concurrent attempts of one body wait for the first one's read and signature
// instead of signing again (RSA-2048 costs ~1.1 ms a signature). A failed read or signature is
// not kept: each attempt waiting on it tries again itself.
func (w *Worker) body(ctx context.Context, m *message.Message) ([]byte, []events.DKIMSignature, error) {
	key := m.Queued.BodyID
	for {
		w.mu.Lock()
		sb, cached := w.signed[key]
		if !cached {
			sb = &signedBody{ready: make(chan struct{})}
			w.signed[key] = sb
			w.order = append(w.order, key)
			if len(w.order) > signedCacheSize {
				delete(w.signed, w.order[0])
				w.order = w.order[1:]
			}
		}
		w.mu.Unlock()
		if !cached {
			w.load(ctx, m, key, sb)
			return sb.data, sb.sigs, sb.err
		}
		select {
		case <-sb.ready:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
		if sb.err == nil {
			return sb.data, sb.sigs, nil
		}
	}
}

// load reads and signs the body of sb's entry, then wakes its waiters; a failure (or a panic,
// which goes on up) takes the entry out of the cache.
func (w *Worker) load(ctx context.Context, m *message.Message, key string, sb *signedBody) {
	sb.err = errLoadAborted
	defer func() {
		if sb.err != nil {
			w.mu.Lock()
			if w.signed[key] == sb {
				delete(w.signed, key)
			}
			w.mu.Unlock()
		}
		close(sb.ready)
	}()
	raw, err := w.cfg.Bodies.Body(ctx, key)
	if err != nil {
		sb.err = fmt.Errorf("body %s: %w", key, err)
		return
	}
	data, sigs := raw, []events.DKIMSignature(nil)
	if w.cfg.Signer != nil {
		data, sigs, err = w.cfg.Signer.Sign(ctx, m.ServerID, domainOf(m.Queued.HeaderFrom), raw)
		if err != nil {
			sb.err = fmt.Errorf("sign %s: %w", key, err)
			return
		}
	}
	sb.data, sb.sigs, sb.err = data, sigs, nil
}

// domainOf returns the lower-cased domain of an address ("" when it has none).
func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return strings.ToLower(strings.Trim(addr[i+1:], "> "))
	}
	return ""
}
