package tenancy_test

import (
	"context"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/memory"
	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/tenancy"
	"github.com/posthaste/posthaste/events"
)

// memStore is the in-memory event store with a hook that simulates a concurrent writer.
type memStore struct {
	*memory.EventStore
	t *testing.T
	// beforeAppend, when set, runs before the next append (to simulate a concurrent writer).
	beforeAppend func()
}

func newMemStore(t *testing.T) *memStore { return &memStore{EventStore: memory.NewEventStore(), t: t} }

func (s *memStore) Append(ctx context.Context, envs ...events.Envelope) error {
	if f := s.beforeAppend; f != nil {
		s.beforeAppend = nil
		f()
	}
	return s.EventStore.Append(ctx, envs...)
}

// envelopes returns every event in the log, in append order.
func (s *memStore) envelopes() []events.Envelope {
	s.t.Helper()
	recs, err := s.Query(context.Background(), domain.EventFilter{Limit: math.MaxInt})
	if err != nil {
		s.t.Fatal(err)
	}
	out := make([]events.Envelope, len(recs))
	for i, r := range recs {
		out[i] = r.Envelope
	}
	return out
}

func (s *memStore) types() []string {
	s.t.Helper()
	var out []string
	for _, e := range s.envelopes() {
		out = append(out, e.Type)
	}
	return out
}

func (s *memStore) raw() string {
	s.t.Helper()
	var b strings.Builder
	for _, e := range s.envelopes() {
		m, _ := events.Marshal(e)
		b.Write(m)
		b.WriteByte('\n')
	}
	return b.String()
}

type memSecrets struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (s *memSecrets) PutSecret(ctx context.Context, id, kind string, v []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[id]; ok {
		return fmt.Errorf("secret %s exists", id)
	}
	s.m[id] = append([]byte(nil), v...)
	return nil
}

func (s *memSecrets) GetSecret(ctx context.Context, id string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[id]
	if !ok {
		return nil, tenancy.ErrSecretNotFound
	}
	return v, nil
}

func (s *memSecrets) DeleteSecret(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
	return nil
}

// fakeHasher marks hashes so tests can see the password never reaches an event.
type fakeHasher struct{}

func (fakeHasher) Hash(pw string) (string, error) { return "fake$" + fmt.Sprint(len(pw)), nil }
func (fakeHasher) Verify(h, pw string) (bool, error) {
	return h == "fake$"+fmt.Sprint(len(pw)), nil
}

// zoneResolver answers from maps keyed by name.
type zoneResolver struct {
	txt   map[string][]string
	cname map[string]string
	mx    map[string][]tenancy.MX
	fail  map[string]error
}

func (z *zoneResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	if err := z.fail[name]; err != nil {
		return nil, err
	}
	return z.txt[name], nil
}
func (z *zoneResolver) LookupCNAME(ctx context.Context, name string) (string, error) {
	return z.cname[name], nil
}
func (z *zoneResolver) LookupMX(ctx context.Context, name string) ([]tenancy.MX, error) {
	return z.mx[name], nil
}
func (z *zoneResolver) LookupIP(ctx context.Context, name string) ([]netip.Addr, error) {
	return nil, nil
}

// seeded is a deterministic randomness source.
func seeded() *mrand.ChaCha8 { return mrand.NewChaCha8([32]byte{42}) }

var pinned = time.Date(2026, 11, 24, 10, 30, 0, 0, time.UTC)

var cli = events.Actor{Type: events.ActorCLI, ID: "alice"}

var dnsCfg = tenancy.DNSConfig{SPFInclude: "spf.example.net", ReturnPathDomain: "rp.example.net", Hostname: "mx.example.net"}

type fixture struct {
	h       *tenancy.Handlers
	store   *memStore
	secrets *memSecrets
	dns     *zoneResolver
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{store: newMemStore(t), secrets: &memSecrets{m: map[string][]byte{}},
		dns: &zoneResolver{txt: map[string][]string{}, cname: map[string]string{}, mx: map[string][]tenancy.MX{}, fail: map[string]error{}}}
	h, err := tenancy.NewHandlers(tenancy.Deps{Store: f.store, Clock: func() time.Time { return pinned }, Rand: seeded(),
		Hasher: fakeHasher{}, Secrets: f.secrets, Resolver: f.dns, DNS: dnsCfg})
	if err != nil {
		t.Fatal(err)
	}
	f.h = h
	return f
}

// withServer creates org acme and server acme/billing.
func (f *fixture) withServer(t *testing.T) tenancy.ServerRef {
	t.Helper()
	ctx := context.Background()
	if _, err := f.h.CreateOrg(ctx, tenancy.CreateOrg{Name: "Acme", Actor: cli}); err != nil {
		t.Fatal(err)
	}
	ref := tenancy.ServerRef{Org: "acme", Name: "billing"}
	if _, err := f.h.CreateServer(ctx, tenancy.CreateServer{Ref: ref, Actor: cli}); err != nil {
		t.Fatal(err)
	}
	return ref
}
