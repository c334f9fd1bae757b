package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/posthaste/posthaste/adapters/dnsresolver"
	"github.com/posthaste/posthaste/adapters/kdf"
	"github.com/posthaste/posthaste/domain/tenancy"
	"github.com/posthaste/posthaste/events"
)

// Wiring shared by the tenancy admin commands (org, server, user, domain, credential): they
// write to the store directly and read their own writes back from the event streams.

// tenancyEnv is an opened store with the tenancy handlers on top. Close it.
type tenancyEnv struct {
	h       *tenancy.Handlers
	secrets tenancy.SecretStore
	actor   events.Actor
	store   *Store
}

func (e *tenancyEnv) Close() error { return e.store.Close() }

// openTenancy parses args on fs (which carries the config flags), opens the configured store and
// returns the handlers and the positional arguments. resolver is only built when needed, so a
// host without /etc/resolv.conf can still create orgs.
func openTenancy(ctx context.Context, fs *flag.FlagSet, args []string, cio cliIO, needResolver bool) (*tenancyEnv, []string, error) {
	cfg, pos, err := loadCommandConfig(fs, args, cio)
	if err != nil {
		return nil, nil, err
	}
	// openStore loads (or generates) the embedded default's key into its own copy of cfg;
	// the secret store needs it here too.
	if err := cfg.ensureSecretKey(nil); err != nil {
		return nil, nil, err
	}
	st, err := openStore(ctx, cfg, newLogger(cfg, cio.stderr))
	if err != nil {
		return nil, nil, err
	}
	env, err := newTenancyEnv(cfg, st, cio, needResolver)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return env, pos, nil
}

// openTenancyArg is openTenancy for a command that takes exactly one positional argument
// (named name in the usage error); nothing is left open when it fails.
func openTenancyArg(ctx context.Context, fs *flag.FlagSet, args []string, cio cliIO, needResolver bool, name string) (*tenancyEnv, string, error) {
	env, pos, err := openTenancy(ctx, fs, args, cio, needResolver)
	if err != nil {
		return nil, "", err
	}
	arg, err := oneArg(pos, name)
	if err != nil {
		env.Close()
		return nil, "", err
	}
	return env, arg, nil
}

// openTenancyServer is openTenancy for a command that takes no positional argument and a
// required --server ORG/NAME (server is that flag's value, read after parsing); nothing is left
// open when it fails.
func openTenancyServer(ctx context.Context, fs *flag.FlagSet, args []string, cio cliIO, server *string) (*tenancyEnv, tenancy.ServerRef, error) {
	env, pos, err := openTenancy(ctx, fs, args, cio, false)
	if err != nil {
		return nil, tenancy.ServerRef{}, err
	}
	if err := noArgs(pos); err != nil {
		env.Close()
		return nil, tenancy.ServerRef{}, err
	}
	ref, err := serverFlag(*server)
	if err != nil {
		env.Close()
		return nil, tenancy.ServerRef{}, err
	}
	return env, ref, nil
}

func newTenancyEnv(cfg Config, st *Store, cio cliIO, needResolver bool) (*tenancyEnv, error) {
	secrets, err := st.SQL.Secrets(cfg.SecretKey, rand.Reader, time.Now)
	if err != nil {
		return nil, err
	}
	hasher, err := kdf.New(kdf.DefaultParams, rand.Reader)
	if err != nil {
		return nil, err
	}
	d := tenancy.Deps{
		Store: st.Events, Clock: time.Now, Rand: rand.Reader, Hasher: hasher, Secrets: secrets,
		DNS: tenancy.DNSConfig{SPFInclude: cfg.SPFInclude, ReturnPathDomain: cfg.ReturnPathDomain, Hostname: cfg.Hostname},
	}
	if needResolver {
		r, err := dnsresolver.New(cfg.DNSResolver, "/etc/resolv.conf", dnsresolver.DefaultTimeout)
		if err != nil {
			return nil, fmt.Errorf("%w (set POSTHASTE_DNS_RESOLVER to host:port)", err)
		}
		d.Resolver = r
	}
	h, err := tenancy.NewHandlers(d)
	if err != nil {
		return nil, err
	}
	return &tenancyEnv{h: h, secrets: secrets, store: st, actor: events.Actor{Type: events.ActorCLI, ID: cliActorID(cio.env)}}, nil
}

// writeJSON writes v as one JSON line (the CLI's --json format: an object per thing).
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// writeJSONLines writes one JSON line per item, converted by toJSON (the --json format of the
// list commands).
func writeJSONLines[T, J any](w io.Writer, items []T, toJSON func(T) J) error {
	for _, it := range items {
		if err := writeJSON(w, toJSON(it)); err != nil {
			return err
		}
	}
	return nil
}

// newTable is the aligned text table of the list commands; Flush it.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
}

// updatedVerb starts the text answer of an update command: "updated", or "unchanged:" when the
// values given were the current ones.
func updatedVerb(changed bool) string {
	if changed {
		return "updated"
	}
	return "unchanged:"
}

// oneArg returns the single positional argument or a usage error naming it.
func oneArg(pos []string, name string) (string, error) {
	if len(pos) != 1 {
		return "", usagef("want exactly one %s, got %d arguments", name, len(pos))
	}
	return pos[0], nil
}

// noArgs refuses positional arguments.
func noArgs(pos []string) error {
	if len(pos) != 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	return nil
}

// serverFlag parses the required --server ORG/NAME.
func serverFlag(v string) (tenancy.ServerRef, error) {
	if v == "" {
		return tenancy.ServerRef{}, usagef("--server ORG/NAME is required")
	}
	ref, err := tenancy.ParseServerRef(v)
	if err != nil {
		return tenancy.ServerRef{}, fmt.Errorf("--server: %w", err)
	}
	return ref, nil
}
