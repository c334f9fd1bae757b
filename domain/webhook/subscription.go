package webhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/events"
)

// Payload formats of a subscription.
const (
	FormatStandard = events.WebhookFormatStandard // Standard Webhooks: {type, timestamp, data}, HMAC signatures
	FormatPostal   = events.WebhookFormatPostal   // Postal's {event, timestamp, payload, uuid}, RSA signatures
)

// DisabledByUpdate is the disabled reason of a subscription disabled by webhook.updated.
const DisabledByUpdate = "operator"

// RotationGrace is how long the previous secret keeps signing after a rotation.
const RotationGrace = 24 * time.Hour

// SecretKindWebhook labels webhook secrets in the secret store.
const SecretKindWebhook = "webhook_secret"

// Offered lists the wire names a subscription may ask for, in documentation order (the
// catalogue of events/webhook_offers.go).
var Offered = events.WebhookOffered()

// IsOffered reports whether a wire name can be subscribed to.
func IsOffered(wireName string) bool { return events.IsWebhookOffered(wireName) }

// Subscription is the state of one webhook stream.
type Subscription struct {
	ID               string
	ServerID         string
	URL              string
	Events           []string // empty = every offered event
	Format           string
	Enabled          bool
	DisabledReason   string
	SecretID         string
	PreviousSecretID string
	PreviousUntil    time.Time
	CreatedAt        time.Time
	Version          int64
}

// Wants reports whether the subscription asks for a wire name.
func (s Subscription) Wants(wireName string) bool {
	if !IsOffered(wireName) {
		return false
	}
	if len(s.Events) == 0 {
		return true
	}
	for _, e := range s.Events {
		if e == wireName {
			return true
		}
	}
	return false
}

// apply is the only code that changes a Subscription.
func (s *Subscription) apply(env events.Envelope, ev events.Event) {
	s.Version = env.StreamVersion
	switch e := ev.(type) {
	case *events.WebhookCreated:
		*s = Subscription{ID: env.StreamID, ServerID: env.Server(), URL: e.URL, Events: e.Events, Format: e.Format,
			Enabled: e.Enabled, SecretID: e.SecretID, CreatedAt: env.OccurredAt, Version: env.StreamVersion}
	case *events.WebhookUpdated:
		if e.URL != nil {
			s.URL = *e.URL
		}
		if e.Events != nil {
			s.Events = *e.Events
		}
		if e.Enabled != nil {
			s.Enabled = *e.Enabled
			if s.Enabled {
				s.DisabledReason = ""
			} else {
				s.DisabledReason = DisabledByUpdate
			}
		}
		if e.Format != nil {
			s.Format = *e.Format
		}
	case *events.WebhookSecretRotated:
		s.SecretID, s.PreviousSecretID, s.PreviousUntil = e.SecretID, e.PreviousSecretID, e.PreviousUntil
	case *events.WebhookDisabled:
		s.Enabled, s.DisabledReason = false, e.Reason
	}
}

// Secrets is the part of the secret store the handlers use (tenancy.SecretStore satisfies it).
// PutSecret stores a value under a new id; GetSecret returns exactly the bytes put.
type Secrets interface {
	PutSecret(ctx context.Context, id, kind string, value []byte) error
	GetSecret(ctx context.Context, id string) ([]byte, error)
}

// Deps are the handlers' ports. Clock and Rand are injected so tests pin ids, times and secrets.
type Deps struct {
	Store   domain.EventStore
	Secrets Secrets
	Clock   domain.Clock
	Rand    io.Reader
}

// Handlers run the subscription commands.
type Handlers struct {
	d   Deps
	rec domain.Recorder
}

// NewHandlers refuses missing dependencies.
func NewHandlers(d Deps) (*Handlers, error) {
	if d.Store == nil || d.Secrets == nil || d.Clock == nil || d.Rand == nil {
		return nil, errors.New("webhook: handlers need a store, a secret store, a clock and randomness")
	}
	return &Handlers{d: d, rec: domain.Recorder{Clock: d.Clock, Rand: d.Rand}}, nil
}

// Create is the input of Handlers.Create.
type Create struct {
	ServerID string // the tenant ("org/name"); the caller checked it exists
	URL      string
	Events   []string // wire names; empty or ["all"] = every offered event
	Format   string   // "" = standard
	Cause    domain.Cause
}

// NormalizeEvents checks a list of wire names ("all" alone means every one) and returns it
// sorted and deduplicated (nil for all).
func NormalizeEvents(in []string) ([]string, error) {
	set := map[string]bool{}
	for _, e := range in {
		e = strings.TrimSpace(e)
		switch {
		case e == "":
			continue
		case e == "all":
			if len(in) > 1 {
				return nil, fmt.Errorf("%w: events: \"all\" cannot be combined with other names", ErrInvalid)
			}
			return nil, nil
		case !IsOffered(e):
			return nil, fmt.Errorf("%w: events: %q is not offered (offered: %s)", ErrInvalid, e, strings.Join(Offered, ", "))
		}
		set[e] = true
	}
	out := make([]string, 0, len(set))
	for e := range set {
		out = append(out, e)
	}
	sort.Strings(out)
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// Create validates and records a new subscription; it returns it with its secret, which is
// shown once and otherwise only kept encrypted in the secret store.
func (h *Handlers) Create(ctx context.Context, c Create) (Subscription, string, error) {
	if c.ServerID == "" {
		return Subscription{}, "", fmt.Errorf("%w: server is required", ErrInvalid)
	}
	if err := ValidateURL(c.URL); err != nil {
		return Subscription{}, "", err
	}
	evs, err := NormalizeEvents(c.Events)
	if err != nil {
		return Subscription{}, "", err
	}
	format := c.Format
	if format == "" {
		format = FormatStandard
	}
	if format != FormatStandard && format != FormatPostal {
		return Subscription{}, "", fmt.Errorf("%w: format %q (want standard or postal)", ErrInvalid, format)
	}
	secret, secretID, err := h.newSecret(ctx)
	if err != nil {
		return Subscription{}, "", err
	}
	id := events.NewID(h.rec.Now(), h.d.Rand)
	envs, err := h.rec.Envelopes(events.StreamWebhook, id, c.ServerID, 0, c.Cause,
		events.WebhookCreated{URL: c.URL, Events: evs, Format: format, SecretID: secretID, Enabled: true})
	if err != nil {
		return Subscription{}, "", fmt.Errorf("webhook: create: %w", err)
	}
	if err := h.d.Store.Append(ctx, envs...); err != nil {
		return Subscription{}, "", fmt.Errorf("webhook: create: %w", err)
	}
	var s Subscription
	for _, env := range envs {
		ev, _ := events.Decode(env)
		s.apply(env, ev)
	}
	return s, secret, nil
}

func (h *Handlers) newSecret(ctx context.Context) (secret, id string, err error) {
	secret, err = NewSecret(h.d.Rand)
	if err != nil {
		return "", "", err
	}
	id = "whsec-" + events.NewID(h.rec.Now(), h.d.Rand)
	if err := h.d.Secrets.PutSecret(ctx, id, SecretKindWebhook, []byte(secret)); err != nil {
		return "", "", fmt.Errorf("webhook: store secret: %w", err)
	}
	return secret, id, nil
}

// Get folds a subscription's stream. ErrNotFound when it has none.
func (h *Handlers) Get(ctx context.Context, id string) (Subscription, error) {
	recs, err := h.d.Store.ReadStream(ctx, events.StreamWebhook, id, 1)
	if err != nil {
		return Subscription{}, fmt.Errorf("webhook: read %s: %w", id, err)
	}
	var s Subscription
	if err := fold(&s, recs); err != nil {
		return Subscription{}, err
	}
	if s.ID == "" {
		return Subscription{}, fmt.Errorf("webhook %q %w", id, ErrNotFound)
	}
	return s, nil
}

func fold(s *Subscription, recs []events.Record) error {
	for _, r := range recs {
		ev, err := events.Decode(r.Envelope)
		if err != nil {
			return fmt.Errorf("webhook: fold %s: %w", r.Envelope.StreamID, err)
		}
		s.apply(r.Envelope, ev)
	}
	return nil
}

// List returns the subscriptions of a server in creation order, read from the event streams
// (so the CLI sees its own writes whether or not the projections run).
func (h *Handlers) List(ctx context.Context, serverID string) ([]Subscription, error) {
	recs, err := h.d.Store.Query(ctx, domain.EventFilter{StreamType: events.StreamWebhook, ServerID: serverID, Limit: 1_000_000})
	if err != nil {
		return nil, fmt.Errorf("webhook: list: %w", err)
	}
	by := map[string][]events.Record{}
	var ids []string
	for _, r := range recs {
		id := r.Envelope.StreamID
		if _, ok := by[id]; !ok {
			ids = append(ids, id)
		}
		by[id] = append(by[id], r)
	}
	out := make([]Subscription, 0, len(ids))
	for _, id := range ids {
		rs := by[id]
		sort.Slice(rs, func(i, j int) bool { return rs[i].Envelope.StreamVersion < rs[j].Envelope.StreamVersion })
		var s Subscription
		if err := fold(&s, rs); err != nil {
			return nil, err
		}
		if s.ID != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

// update loads a subscription, lets decide return the events to append (none = nothing to do)
// and appends them, retrying a few times when another writer got there first.
func (h *Handlers) update(ctx context.Context, id string, cause domain.Cause, decide func(s Subscription) ([]events.Event, error)) (Subscription, error) {
	for try := 0; ; try++ {
		s, err := h.Get(ctx, id)
		if err != nil {
			return Subscription{}, err
		}
		evs, err := decide(s)
		if err != nil || len(evs) == 0 {
			return s, err
		}
		envs, err := h.rec.Envelopes(events.StreamWebhook, id, s.ServerID, s.Version, cause, evs...)
		if err != nil {
			return Subscription{}, fmt.Errorf("webhook: %s: %w", id, err)
		}
		err = h.d.Store.Append(ctx, envs...)
		if domain.IsConflict(err) && try < 5 {
			continue
		}
		if err != nil {
			return Subscription{}, fmt.Errorf("webhook: %s: %w", id, err)
		}
		for _, env := range envs {
			ev, _ := events.Decode(env)
			s.apply(env, ev)
		}
		return s, nil
	}
}

// Disable stops deliveries to a subscription (an operator, or a 410 Gone from the receiver).
// Disabling a disabled subscription records nothing.
func (h *Handlers) Disable(ctx context.Context, id, reason string, cause domain.Cause) (Subscription, error) {
	if reason == "" {
		reason = "operator"
	}
	return h.update(ctx, id, cause, func(s Subscription) ([]events.Event, error) {
		if !s.Enabled {
			return nil, nil
		}
		return []events.Event{events.WebhookDisabled{Reason: reason}}, nil
	})
}

// Update is the input of Handlers.Update: nil fields stay as they are.
type Update struct {
	URL     *string
	Events  *[]string // wire names; empty or ["all"] = every offered event
	Enabled *bool
	Format  *string
	Cause   domain.Cause
}

// Update validates the changed fields and records one webhook.updated carrying only the fields
// whose value differs from the subscription's (nothing is recorded when none does). Enabling a
// subscription clears its disabled reason; deliveries failed while it was disabled stay failed
// (`webhook redeliver` or `replay` sends them).
func (h *Handlers) Update(ctx context.Context, id string, u Update) (Subscription, error) {
	if u.URL != nil {
		if err := ValidateURL(*u.URL); err != nil {
			return Subscription{}, err
		}
	}
	var evs []string
	if u.Events != nil {
		var err error
		if evs, err = NormalizeEvents(*u.Events); err != nil {
			return Subscription{}, err
		}
	}
	if u.Format != nil && *u.Format != FormatStandard && *u.Format != FormatPostal {
		return Subscription{}, fmt.Errorf("%w: format %q (want standard or postal)", ErrInvalid, *u.Format)
	}
	return h.update(ctx, id, u.Cause, func(s Subscription) ([]events.Event, error) {
		var e events.WebhookUpdated
		changed := false
		if u.URL != nil && *u.URL != s.URL {
			v := *u.URL
			e.URL, changed = &v, true
		}
		if u.Events != nil && strings.Join(evs, ",") != strings.Join(s.Events, ",") {
			v := evs
			if v == nil {
				v = []string{} // every offered event (a nil list would encode as null: "unchanged")
			}
			e.Events, changed = &v, true
		}
		if u.Enabled != nil && *u.Enabled != s.Enabled {
			v := *u.Enabled
			e.Enabled, changed = &v, true
		}
		if u.Format != nil && *u.Format != s.Format {
			v := *u.Format
			e.Format, changed = &v, true
		}
		if !changed {
			return nil, nil
		}
		return []events.Event{e}, nil
	})
}

// RotateSecret makes a new secret sign; the current one keeps signing (a second signature) for
// RotationGrace. It returns the new secret, shown once.
func (h *Handlers) RotateSecret(ctx context.Context, id string, cause domain.Cause) (Subscription, string, error) {
	var secret string
	s, err := h.update(ctx, id, cause, func(s Subscription) ([]events.Event, error) {
		sec, secID, err := h.newSecret(ctx)
		if err != nil {
			return nil, err
		}
		secret = sec
		return []events.Event{events.WebhookSecretRotated{SecretID: secID, PreviousSecretID: s.SecretID,
			PreviousUntil: h.rec.Now().Add(RotationGrace).UTC()}}, nil
	})
	return s, secret, err
}

// SigningSecrets returns the secrets that sign a request at now: the current one, then the
// previous one while its grace period lasts.
func (h *Handlers) SigningSecrets(ctx context.Context, s Subscription, now time.Time) ([]string, error) {
	ids := []string{s.SecretID}
	if s.PreviousSecretID != "" && now.Before(s.PreviousUntil) {
		ids = append(ids, s.PreviousSecretID)
	}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		v, err := h.d.Secrets.GetSecret(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("webhook: secret of %s: %w", s.ID, err)
		}
		out = append(out, string(v))
	}
	return out, nil
}
