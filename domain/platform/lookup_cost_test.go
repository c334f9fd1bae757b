package platform_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/platform"
	"github.com/posthaste/posthaste/domain/tenancy"
	"github.com/posthaste/posthaste/events"
)

// calls counts the calls made through the ports it wraps, by port and method.
type calls struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *calls) add(name string) {
	c.mu.Lock()
	c.n[name]++
	c.mu.Unlock()
}

func (c *calls) reset() {
	c.mu.Lock()
	c.n = map[string]int{}
	c.mu.Unlock()
}

// snapshot returns the total and a stable description.
func (c *calls) snapshot() (int, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var names []string
	total := 0
	for k, v := range c.n {
		names = append(names, fmt.Sprintf("%s=%d", k, v))
		total += v
	}
	sort.Strings(names)
	return total, strings.Join(names, " ")
}

type countingStore struct {
	domain.EventStore
	c *calls
}

func (s countingStore) Append(ctx context.Context, envs ...events.Envelope) error {
	s.c.add("events.Append")
	return s.EventStore.Append(ctx, envs...)
}

func (s countingStore) ReadStream(ctx context.Context, typ, id string, from int64) ([]events.Record, error) {
	s.c.add("events.ReadStream")
	return s.EventStore.ReadStream(ctx, typ, id, from)
}

func (s countingStore) ReadAll(ctx context.Context, after int64, limit int) ([]events.Record, error) {
	s.c.add("events.ReadAll")
	return s.EventStore.ReadAll(ctx, after, limit)
}

func (s countingStore) Query(ctx context.Context, f domain.EventFilter) ([]events.Record, error) {
	s.c.add("events.Query")
	return s.EventStore.Query(ctx, f)
}

type countingIndex struct {
	platform.CredentialIndex
	c *calls
}

func (x countingIndex) Horizon(ctx context.Context) (int64, error) {
	x.c.add("credentials.Horizon")
	return x.CredentialIndex.Horizon(ctx)
}

func (x countingIndex) CredentialByUsername(ctx context.Context, u string) (tenancy.Credential, bool, error) {
	x.c.add("credentials.ByUsername")
	return x.CredentialIndex.CredentialByUsername(ctx, u)
}

func (x countingIndex) CredentialByKeyHash(ctx context.Context, h string) (tenancy.Credential, bool, error) {
	x.c.add("credentials.ByKeyHash")
	return x.CredentialIndex.CredentialByKeyHash(ctx, h)
}

func (x countingIndex) ActiveCredentials(ctx context.Context, typ string) ([]tenancy.Credential, error) {
	x.c.add("credentials.ActiveCredentials")
	return x.CredentialIndex.ActiveCredentials(ctx, typ)
}

// addCredentials appends n credential.created events of server ref directly (one batch), smtp
// and api alternately: the installation's other credentials.
func addCredentials(t *testing.T, es domain.EventStore, ref tenancy.ServerRef, n int) {
	t.Helper()
	rec := domain.Recorder{Clock: time.Now, Rand: rand.Reader}
	var all []events.Envelope
	for i := 0; i < n; i++ {
		ev := events.CredentialCreated{Type: tenancy.CredentialSMTP, Name: fmt.Sprint("bulk ", i), Username: fmt.Sprintf("bulk-%06d", i),
			Hash: tenancy.HashSecret(fmt.Sprint("password ", i))}
		if i%2 == 1 {
			ev = events.CredentialCreated{Type: tenancy.CredentialAPI, Name: fmt.Sprint("bulk ", i), KeyPrefix: "bulkbulk",
				Hash: tenancy.HashSecret(fmt.Sprint("key ", i))}
		}
		envs, err := rec.Envelopes(events.StreamCredential, events.NewID(time.Now(), rand.Reader), ref.ID(), 0,
			domain.Cause{Actor: events.Actor{Type: events.ActorCLI, ID: "bulk"}}, ev)
		must(t, err)
		all = append(all, envs...)
	}
	for len(all) > 0 {
		k := min(500, len(all))
		must(t, es.Append(ctxT(t), all[:k]...))
		all = all[k:]
	}
}

// TestCredentialLookupIsBounded: one wrong SMTP password (and one unknown user, one unknown or
// valid API key) costs the same number of store calls with 10 credentials as with 1,000.
func TestCredentialLookupIsBounded(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		type cost struct {
			total int
			desc  string
		}
		measure := func(n int) map[string]cost {
			cs := &calls{n: map[string]int{}}
			e := newEnv(t, b, func(d *platform.Deps) {
				d.Events = countingStore{EventStore: d.Events, c: cs}
				d.Credentials = countingIndex{CredentialIndex: d.Credentials, c: cs}
			})
			ref := e.tenant(t, "acme", fmt.Sprint("n", n), "")
			addCredentials(t, b.store, ref, n-2)
			smtp := e.credential(t, ref, tenancy.CredentialSMTP, "")
			api := e.credential(t, ref, tenancy.CredentialAPI, "")
			e.project(t)
			ctx := ctxT(t)
			out := map[string]cost{}
			run := func(what string, f func() error) {
				cs.reset()
				if err := f(); err != nil {
					t.Fatalf("%d credentials, %s: %v", n, what, err)
				}
				total, desc := cs.snapshot()
				out[what] = cost{total, desc}
			}
			bad := func(err error) error {
				if errors.Is(err, platform.ErrBadCredentials) {
					return nil
				}
				return fmt.Errorf("got %v, want bad credentials", err)
			}
			run("wrong smtp password", func() error { _, err := e.app.Queries.AuthenticateSMTP(ctx, smtp.Username, "wrong"); return bad(err) })
			run("unknown smtp user", func() error { _, err := e.app.Queries.AuthenticateSMTP(ctx, "nobody", "wrong"); return bad(err) })
			run("right smtp password", func() error { _, err := e.app.Queries.AuthenticateSMTP(ctx, smtp.Username, smtp.Password); return err })
			run("unknown api key", func() error { _, err := e.app.Queries.AuthenticateAPIKey(ctx, "no such key"); return bad(err) })
			run("valid api key", func() error { _, err := e.app.Queries.AuthenticateAPIKey(ctx, api.Key); return err })
			return out
		}
		small, large := measure(10), measure(1000)
		for what, s := range small {
			l := large[what]
			t.Logf("%s: %d calls with 10 credentials (%s), %d with 1,000 (%s)", what, s.total, s.desc, l.total, l.desc)
			if s != l {
				t.Errorf("%s: %d calls with 10 credentials, %d with 1,000", what, s.total, l.total)
			}
			if s.total != 3 {
				t.Errorf("%s: %d calls (%s); want 3: the horizon, one row, the stream or the tail", what, s.total, s.desc)
			}
		}
	})
}
