// Package webhooksender sends webhook deliveries over HTTP: it claims due deliveries of the
// webhooks read model (projections/webhookqueue) from its Queue under an expiring lease, so
// several nodes never send one delivery at once, builds and signs each request (domain/webhook:
// Standard Webhooks HMAC or Postal RSA), posts it with a connect-time address check, records
// every attempt, and schedules retries with backoff and jitter until the delivery succeeds or is
// dead (≥ 3 days).
// A 410 Gone disables the subscription (webhook.disabled is appended to the log).
//
// It owns the HTTP side of webhooks only: which deliveries exist is the projection's business,
// what a payload and a signature are is domain/webhook's.
package webhooksender

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/webhook"
	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections/webhookqueue"
)

// Config tunes the sender. Zero fields take the defaults.
type Config struct {
	Owner        string           // lease owner: unique per process (required)
	Schedule     webhook.Schedule // retries; zero = webhook.DefaultSchedule
	Timeout      time.Duration    // whole request, connect to last body byte; default 10 s
	Workers      int              // requests in flight; default 64
	PerEndpoint  int              // requests in flight per subscription; default 8
	Batch        int              // deliveries claimed at once; default 500
	Poll         time.Duration    // idle poll interval; default 250 ms
	ResponseCap  int64            // response bytes read; default 64 KiB (1 KiB is recorded)
	AllowPrivate bool             // POSTHASTE_WEBHOOK_ALLOW_PRIVATE
}

func (c Config) withDefaults() Config {
	if c.Schedule == (webhook.Schedule{}) {
		c.Schedule = webhook.DefaultSchedule
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Workers <= 0 {
		c.Workers = 64
	}
	if c.PerEndpoint <= 0 {
		c.PerEndpoint = 8
	}
	if c.Batch <= 0 {
		c.Batch = 500
	}
	if c.Poll <= 0 {
		c.Poll = 250 * time.Millisecond
	}
	if c.ResponseCap <= 0 {
		c.ResponseCap = 64 << 10
	}
	return c
}

// Disabler disables a subscription (webhook.Handlers satisfies it).
type Disabler interface {
	Disable(ctx context.Context, id, reason string, cause domain.Cause) (webhook.Subscription, error)
}

// Queue is the sender's job queue over the webhooks read model (adapters/sqlstore's WebhookQueue
// implements it).
//
// Claim leases up to limit due deliveries to owner until now+ttl and returns them: pending, due
// at or before now, not leased by anyone (or the lease lapsed), and with no earlier event of the
// same stream still pending for the same subscription. take, when not nil, is asked about each
// candidate in order (its subscription id) and may refuse it; a call considers a bounded number
// of candidates. Two owners never both hold one delivery while its lease lasts.
//
// Complete records the attempts among results (Attempted) and every delivery's new state in one
// transaction, and drops owner's leases on them; a delivery whose lease changed hands meanwhile
// keeps the newer state.
type Queue interface {
	Claim(ctx context.Context, owner string, now time.Time, ttl time.Duration, limit int, take func(webhookID string) bool) ([]webhookqueue.Claimed, error)
	Complete(ctx context.Context, owner string, results []webhookqueue.Result) error
}

// Deps are the sender's ports.
type Deps struct {
	Queue    Queue
	Secrets  webhook.Secrets
	Disabler Disabler
	// PostalKey loads the platform's RSA key, the first time a Postal-format delivery is sent.
	PostalKey func(ctx context.Context) (webhook.PostalKey, error)
	Clock     func() time.Time
	Rand      func() float64 // uniform in [0, 1): retry jitter
	Logger    *slog.Logger
	Client    *http.Client // nil = NewClient(AllowPrivate, Timeout, PerEndpoint)
	Observer  Observer     // nil = none
}

// Observer learns of every attempt this sender makes (metrics). It must not block.
type Observer interface {
	Attempted(succeeded bool, took time.Duration)
}

// Sender is the webhook delivery loop.
type Sender struct {
	cfg  Config
	d    Deps
	wake chan struct{}

	mu       sync.Mutex
	inflight map[string]int // per subscription: claimed and not completed
	sems     map[string]chan struct{}
	secrets  map[string][]byte
	postal   *webhook.PostalKey
	total    int

	results chan webhookqueue.Result
	sent    atomic.Int64
}

// New refuses missing dependencies and a bad configuration.
func New(cfg Config, d Deps) (*Sender, error) {
	cfg = cfg.withDefaults()
	if d.Queue == nil || d.Secrets == nil || d.Disabler == nil || d.PostalKey == nil || d.Clock == nil || d.Rand == nil || d.Logger == nil {
		return nil, errors.New("webhooksender: needs a queue, secrets, a disabler, a postal key loader, a clock, randomness and a logger")
	}
	if cfg.Owner == "" {
		return nil, errors.New("webhooksender: lease owner is empty")
	}
	if err := cfg.Schedule.Validate(); err != nil {
		return nil, err
	}
	if d.Client == nil {
		d.Client = NewClient(cfg.AllowPrivate, cfg.Timeout, cfg.PerEndpoint)
	}
	return &Sender{cfg: cfg, d: d, wake: make(chan struct{}, 1), inflight: map[string]int{}, sems: map[string]chan struct{}{},
		secrets: map[string][]byte{}, results: make(chan webhookqueue.Result, 4*cfg.Batch)}, nil
}

// DefaultRand is a uniform [0, 1) source for Deps.Rand.
func DefaultRand() float64 { return rand.Float64() }

// Wake makes the sender look for due deliveries now (after the projection enqueued some).
func (s *Sender) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Sent counts attempts made (for benchmarks and metrics).
func (s *Sender) Sent() int64 { return s.sent.Load() }

// Run claims and sends until ctx ends, then finishes the requests in flight (each bounded by
// the timeout) and records them.
func (s *Sender) Run(ctx context.Context) error {
	leaseTTL := 2*s.cfg.Timeout + 30*time.Second
	var wg sync.WaitGroup
	completerDone := make(chan struct{})
	go func() {
		defer close(completerDone)
		s.complete()
	}()
	global := make(chan struct{}, s.cfg.Workers)
	maxHeld := 2 * s.cfg.Batch
	for ctx.Err() == nil {
		s.mu.Lock()
		room := min(maxHeld-s.total, s.cfg.Batch)
		if room < s.cfg.Batch/4 && s.total > 0 {
			room = 0 // claim in large batches: each claim scans the due index
		}
		held := make(map[string]int, len(s.inflight))
		for k, v := range s.inflight {
			held[k] = v
		}
		s.mu.Unlock()
		var claimed []webhookqueue.Claimed
		var err error
		if room > 0 {
			// Hold at most half of maxHeld per subscription, so one slow receiver cannot fill the sender.
			take := func(webhookID string) bool {
				if held[webhookID] >= s.cfg.Batch {
					return false
				}
				held[webhookID]++
				return true
			}
			claimed, err = s.d.Queue.Claim(ctx, s.cfg.Owner, s.d.Clock(), leaseTTL, room, take)
			if err != nil && ctx.Err() == nil {
				s.d.Logger.Error("webhooks: claim failed", "error", err)
			}
		}
		s.mu.Lock()
		for _, c := range claimed {
			s.inflight[c.WebhookID]++
			s.total++
		}
		s.mu.Unlock()
		for _, c := range claimed {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.deliver(ctx, c, global)
			}()
		}
		if len(claimed) == room && room > 0 {
			continue
		}
		select {
		case <-ctx.Done():
		case <-s.wake:
		case <-time.After(s.cfg.Poll):
		}
	}
	wg.Wait()
	close(s.results)
	<-completerDone
	return nil
}

func (s *Sender) release(webhookID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight[webhookID]--
	if s.inflight[webhookID] <= 0 {
		delete(s.inflight, webhookID)
	}
	s.total--
}

func (s *Sender) sem(webhookID string) chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.sems[webhookID]
	if !ok {
		c = make(chan struct{}, s.cfg.PerEndpoint)
		s.sems[webhookID] = c
	}
	return c
}

// complete writes results in batches (every 500 results or 50 ms), up to two batches at once:
// one commit's latency does not hold back the next batch (a delivery is in at most one batch:
// it cannot be claimed again before its result is recorded).
func (s *Sender) complete() {
	var buf []webhookqueue.Result
	var wg sync.WaitGroup
	writers := make(chan struct{}, 2)
	flush := func() {
		if len(buf) == 0 {
			return
		}
		batch := buf
		buf = nil
		writers <- struct{}{} // two in flight: results wait in s.results
		wg.Add(1)
		go func() {
			defer func() { <-writers; wg.Done() }()
			s.record(batch)
		}()
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case r, ok := <-s.results:
			if !ok {
				flush()
				wg.Wait()
				return
			}
			buf = append(buf, r)
			if len(buf) >= 500 {
				flush()
			}
		case <-tick.C:
			flush()
		}
	}
}

// record writes one batch of results (retried a few times), then releases their places.
func (s *Sender) record(batch []webhookqueue.Result) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for try := 0; ; try++ {
		err := s.d.Queue.Complete(ctx, s.cfg.Owner, batch)
		if err == nil {
			break
		}
		if try == 5 || ctx.Err() != nil {
			s.d.Logger.Error("webhooks: recording results failed; their leases expire and they are sent again", "error", err, "count", len(batch))
			break
		}
		time.Sleep(time.Duration(try+1) * 100 * time.Millisecond)
	}
	for _, r := range batch {
		s.release(r.WebhookID)
	}
	s.Wake() // room for more claims
}

// deliver sends one claimed delivery and hands its result to the completer. A panic becomes a
// failed attempt.
func (s *Sender) deliver(ctx context.Context, c webhookqueue.Claimed, global chan struct{}) {
	r := webhookqueue.Result{DeliveryID: c.DeliveryID, WebhookID: c.WebhookID, Attempt: c.Attempts + 1, FirstAt: c.FirstAttempt}
	defer func() {
		if v := recover(); v != nil {
			s.d.Logger.Error("webhooks: panic while sending", "delivery_id", c.DeliveryID, "panic", fmt.Sprint(v))
			r.Attempted, r.Error = true, fmt.Sprintf("panic: %v", v)
			s.schedule(&r)
		}
		if r.Attempted && s.d.Observer != nil {
			s.d.Observer.Attempted(r.Status == webhookqueue.StatusSucceeded, r.Duration)
		}
		s.results <- r
	}()
	if !c.Enabled {
		r.At, r.Status, r.Error, r.Attempt = s.d.Clock(), webhookqueue.StatusFailed, "webhook disabled", c.Attempts+1
		return
	}
	// Waiting for a slot ends at shutdown: the delivery is handed back untried (due now).
	sem := s.sem(c.WebhookID)
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		r.At, r.Status, r.Next, r.Attempt = s.d.Clock(), webhookqueue.StatusPending, s.d.Clock(), c.Attempts+1
		return
	}
	defer func() { <-sem }()
	select {
	case global <- struct{}{}:
	case <-ctx.Done():
		r.At, r.Status, r.Next, r.Attempt = s.d.Clock(), webhookqueue.StatusPending, s.d.Clock(), c.Attempts+1
		return
	}
	defer func() { <-global }()

	req, err := s.request(context.WithoutCancel(ctx), c)
	if errors.Is(err, errNoPostalEquivalent) {
		r.At, r.Status, r.Error = s.d.Clock(), webhookqueue.StatusFailed, err.Error()
		return
	}
	r.At = s.d.Clock()
	if r.FirstAt.IsZero() {
		r.FirstAt = r.At
	}
	r.Attempted = true
	if err != nil {
		// Not sendable (missing secret or key, undecodable event): retried like a failure, so
		// a fixed configuration still gets it, and it is visible in the attempts.
		r.Error = err.Error()
		s.schedule(&r)
		return
	}
	start := time.Now()
	resp, err := s.d.Client.Do(req)
	s.sent.Add(1)
	if err != nil {
		r.Duration, r.Error = time.Since(start), err.Error()
		s.schedule(&r)
		return
	}
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, s.cfg.ResponseCap))
	// Drain a little more so the connection can be reused, never unbounded.
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	r.Duration, r.StatusCode = time.Since(start), resp.StatusCode
	r.Response = string(bytes.ToValidUTF8(body[:min(len(body), 1024)], nil))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300 && rerr == nil:
		r.Status = webhookqueue.StatusSucceeded
	case resp.StatusCode == http.StatusGone:
		r.Status, r.Error = webhookqueue.StatusFailed, "410 Gone: webhook disabled"
		cause := domain.Cause{Actor: events.Actor{Type: events.ActorSystem, ID: "webhooks"}, CausationID: c.DeliveryID}
		if _, err := s.d.Disabler.Disable(context.WithoutCancel(ctx), c.WebhookID, webhookqueue.GoneReasonPrefix+" from "+c.URL, cause); err != nil {
			s.d.Logger.Error("webhooks: disabling after 410 failed", "webhook_id", c.WebhookID, "error", err)
		} else {
			s.d.Logger.Warn("webhooks: receiver answered 410 Gone; subscription disabled", "webhook_id", c.WebhookID)
		}
	default:
		if rerr != nil {
			r.Error = "reading response: " + rerr.Error()
		} else {
			r.Error = "HTTP " + strconv.Itoa(resp.StatusCode)
		}
		s.schedule(&r)
	}
}

func (s *Sender) schedule(r *webhookqueue.Result) {
	if r.At.IsZero() {
		r.At = s.d.Clock()
	}
	if r.FirstAt.IsZero() {
		r.FirstAt = r.At
	}
	next, dead := s.cfg.Schedule.Next(r.Attempt, r.FirstAt, r.At, s.d.Rand())
	if dead {
		r.Status = webhookqueue.StatusDead
		return
	}
	r.Status, r.Next = webhookqueue.StatusPending, next
}

// request builds the signed HTTP request of a delivery.
func (s *Sender) request(ctx context.Context, c webhookqueue.Claimed) (*http.Request, error) {
	var facts *webhook.MessageFacts
	if c.HasMessage {
		facts = &webhook.MessageFacts{SubmissionID: c.SubmissionID, MailFrom: c.MailFrom, Recipient: c.RcptTo,
			HeaderFrom: c.HeaderFrom, Subject: c.Subject, MessageIDHeader: c.MessageIDH, Tag: c.Tag, QueuedAt: c.QueuedAt}
	}
	now := s.d.Clock()
	// Canonical header keys set directly: Header.Set would canonicalise them on every request.
	h := make(http.Header, 8)
	h["Content-Type"] = []string{"application/json"}
	h["User-Agent"] = []string{"Posthaste-Webhooks/1"}
	var body []byte
	var err error
	if c.Format == webhook.FormatPostal {
		env, err := events.Unmarshal(c.EventJSON)
		if err != nil {
			return nil, err
		}
		in := webhook.Input{Event: env, DeliveryID: c.DeliveryID, WebhookID: c.WebhookID, Message: facts}
		var ok bool
		body, ok, err = webhook.PostalBody(in)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("%w: %s", errNoPostalEquivalent, env.Type)
		}
		key, err := s.postalKey(ctx)
		if err != nil {
			return nil, err
		}
		sig1, sig256, err := webhook.SignPostal(key, body)
		if err != nil {
			return nil, err
		}
		h.Set(webhook.HeaderPostalSignature, sig1)
		h.Set(webhook.HeaderPostalSignature256, sig256)
		h.Set(webhook.HeaderPostalKID, key.KID)
	} else if body, err = webhook.StandardBodyRaw(c.EventJSON, facts); err != nil {
		// Not the stored form the fast path reads: decode and encode (the same bytes when both work).
		env, err := events.Unmarshal(c.EventJSON)
		if err != nil {
			return nil, err
		}
		if body, err = webhook.StandardBody(webhook.Input{Event: env, DeliveryID: c.DeliveryID, WebhookID: c.WebhookID, Message: facts}); err != nil {
			return nil, err
		}
	}
	// Standard Webhooks headers go on both formats (Postal receivers ignore them).
	ids := []string{c.SecretID}
	if c.PreviousSecretID != "" && now.Before(c.PreviousUntil) {
		ids = append(ids, c.PreviousSecretID)
	}
	keys := make([][]byte, 0, len(ids))
	for _, id := range ids {
		k, err := s.secretKey(ctx, id)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	h[headerID] = []string{c.DeliveryID}
	h[headerTimestamp] = []string{strconv.FormatInt(now.Unix(), 10)}
	h[headerSignature] = []string{webhook.Signature(keys, c.DeliveryID, now, body)}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header = h
	return req, nil
}

// Canonical forms of the Standard Webhooks header names.
var (
	headerID        = http.CanonicalHeaderKey(webhook.HeaderID)
	headerTimestamp = http.CanonicalHeaderKey(webhook.HeaderTimestamp)
	headerSignature = http.CanonicalHeaderKey(webhook.HeaderSignature)
)

// errNoPostalEquivalent: the event has no Postal counterpart (the subscription's format changed
// to postal after it was enqueued). Nothing is sent; the delivery fails without an attempt.
var errNoPostalEquivalent = errors.New("no Postal equivalent (the webhook's format is postal)")

func (s *Sender) secretKey(ctx context.Context, id string) ([]byte, error) {
	s.mu.Lock()
	k, ok := s.secrets[id]
	s.mu.Unlock()
	if ok {
		return k, nil
	}
	v, err := s.d.Secrets.GetSecret(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("webhooks: secret %s: %w", id, err)
	}
	k, err = webhook.SecretKey(strings.TrimSpace(string(v)))
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.secrets[id] = k
	s.mu.Unlock()
	return k, nil
}

func (s *Sender) postalKey(ctx context.Context) (webhook.PostalKey, error) {
	s.mu.Lock()
	k := s.postal
	s.mu.Unlock()
	if k != nil {
		return *k, nil
	}
	key, err := s.d.PostalKey(ctx)
	if err != nil {
		return webhook.PostalKey{}, err
	}
	s.mu.Lock()
	s.postal = &key
	s.mu.Unlock()
	return key, nil
}
