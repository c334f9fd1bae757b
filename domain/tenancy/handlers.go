package tenancy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/events"
)

// Deps are what the command handlers need. Store, Clock and Rand are always required; the
// others only by the commands that use them (a nil one makes those commands fail clearly).
type Deps struct {
	Store    domain.EventStore
	Clock    domain.Clock
	Rand     io.Reader // key material, tokens, ids: crypto/rand.Reader in production
	Hasher   PasswordHasher
	Secrets  SecretStore
	Resolver Resolver
	DNS      DNSConfig
}

// Handlers executes tenancy commands. One command per file (create_org.go, ...).
type Handlers struct {
	d Deps
}

// NewHandlers refuses missing required dependencies.
func NewHandlers(d Deps) (*Handlers, error) {
	var errs []error
	if d.Store == nil {
		errs = append(errs, errors.New("store is nil"))
	}
	if d.Clock == nil {
		errs = append(errs, errors.New("clock is nil"))
	}
	if d.Rand == nil {
		errs = append(errs, errors.New("rand is nil"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("tenancy: new handlers: %w", err)
	}
	return &Handlers{d: d}, nil
}

// aggregate is the state folded from one stream; apply is the only code that mutates it.
type aggregate interface {
	apply(env events.Envelope, ev events.Event)
}

// load folds a stream into agg and returns the stream's current version (0 = no stream).
func (h *Handlers) load(ctx context.Context, streamType, streamID string, agg aggregate) (int64, error) {
	recs, err := h.d.Store.ReadStream(ctx, streamType, streamID, 1)
	if err != nil {
		return 0, fmt.Errorf("read %s/%s: %w", streamType, streamID, err)
	}
	return foldRecords(recs, agg)
}

func foldRecords(recs []events.Record, agg aggregate) (int64, error) {
	var v int64
	for _, r := range recs {
		ev, err := events.Decode(r.Envelope)
		if err != nil {
			return 0, err
		}
		agg.apply(r.Envelope, ev)
		v = r.Envelope.StreamVersion
	}
	return v, nil
}

// stream is where new events go: appended after version, tagged with the tenant.
type stream struct {
	typ, id  string
	serverID string
	version  int64
}

// envelopes wraps evs as versions version+1... of s, written by actor within one command
// (one correlation id).
func (h *Handlers) envelopes(s stream, actor events.Actor, correlation string, evs ...events.Event) ([]events.Envelope, error) {
	now := h.d.Clock().UTC()
	out := make([]events.Envelope, 0, len(evs))
	for i, ev := range evs {
		env, err := events.New(ev, events.Meta{
			ID:            events.NewID(now, h.d.Rand),
			StreamType:    s.typ,
			StreamID:      s.id,
			StreamVersion: s.version + int64(i) + 1,
			ServerID:      s.serverID,
			OccurredAt:    now,
			Actor:         actor,
			CorrelationID: correlation,
		})
		if err != nil {
			return nil, err
		}
		out = append(out, env)
	}
	return out, nil
}

// append writes evs to s in one transaction. A conflict on a create (version 0) means the
// stream exists: ErrAlreadyExists naming what.
func (h *Handlers) append(ctx context.Context, s stream, actor events.Actor, what string, evs ...events.Event) ([]events.Envelope, error) {
	if actor.Type == "" {
		return nil, fmt.Errorf("%w: actor is missing", ErrInvalid)
	}
	envs, err := h.envelopes(s, actor, events.NewID(h.d.Clock(), h.d.Rand), evs...)
	if err != nil {
		return nil, err
	}
	if err := h.d.Store.Append(ctx, envs...); err != nil {
		if errors.Is(err, domain.ErrConflict) && s.version == 0 {
			return nil, fmt.Errorf("%s %w", what, ErrAlreadyExists)
		}
		return nil, fmt.Errorf("append %s/%s: %w", s.typ, s.id, err)
	}
	return envs, nil
}

// maxRetries bounds re-deciding a command after a concurrent write to the same stream.
const maxRetries = 3

// retryOnConflict runs fn again (it reloads and re-decides) when another writer won the race.
func retryOnConflict(fn func() error) error {
	var err error
	for i := 0; i < maxRetries; i++ {
		if err = fn(); !errors.Is(err, domain.ErrConflict) {
			return err
		}
	}
	return err
}

// HashSecret is how credential secrets (random, high-entropy SMTP passwords and API keys) are
// stored: "sha256:<hex>". A slow KDF is for human passwords; these secrets carry 190+ bits of
// entropy and are checked on every submission.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// DNSConfig is the platform side of the DNS records the handlers render.
func (h *Handlers) DNSConfig() DNSConfig { return h.d.DNS }
