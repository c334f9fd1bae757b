package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posthaste/posthaste/adapters/cli"
	"github.com/posthaste/posthaste/domain/platform"
	"github.com/posthaste/posthaste/events"
)

// TestSettingsAreTheConfiguration: the CLI's flags are the configuration variables, one each,
// named as their variables, with their defaults and help; the two yes/no ones are switches.
func TestSettingsAreTheConfiguration(t *testing.T) {
	got := settings()
	if len(got) != len(configVars) {
		t.Fatalf("%d settings for %d variables", len(got), len(configVars))
	}
	bools := 0
	for i, s := range got {
		v := configVars[i]
		if s.Env != v.env || s.Flag != v.Flag() || s.Default != v.def || s.Usage != v.help {
			t.Errorf("setting %+v does not describe %s", s, v.env)
		}
		if s.Bool {
			bools++
			if v.def != "false" {
				t.Errorf("%s is a switch with default %q", s.Env, v.def)
			}
		}
	}
	if bools != 2 || got[0].Flag != "data-dir" {
		t.Errorf("%d switches, first flag %q", bools, got[0].Flag)
	}
}

// dkimVectors are the RFC 6376 / RFC 8463 test vectors in ../shared beside the repository.
const dkimVectors = "../../../shared/eval/dkim/vectors"

// TestDKIMVerifierOpensNothing: `dkim verify` checks signatures with a key file, and DNS is
// only reached for a signed message without one.
func TestDKIMVerifierOpensNothing(t *testing.T) {
	v, err := dkimVerifier(cli.Values{"dns-resolver": "127.0.0.1:9"})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := os.ReadFile(filepath.Join(dkimVectors, "rfc8463/keys.txt"))
	if err != nil {
		t.Fatal(err)
	}
	signed, err := os.ReadFile(filepath.Join(dkimVectors, "rfc8463/signed.eml"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := v.Verify(context.Background(), signed, keys)
	if err != nil || len(got) != 2 || got[0].Result != platform.DKIMPass || got[1].Result != platform.DKIMPass ||
		got[0].Domain != "football.example.com" || got[0].Algorithm != "ed25519-sha256" {
		t.Errorf("signed with keys: %+v, %v", got, err)
	}
	unsigned, err := os.ReadFile(filepath.Join(dkimVectors, "rfc8463/unsigned.eml"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := v.Verify(context.Background(), unsigned, nil); err != nil || len(got) != 0 {
		t.Errorf("unsigned through DNS: %+v, %v", got, err)
	}
}

// TestSessionAndMigrate: an admin command's application on the embedded default: migrate
// reports the dialect, a session answers status as an operator and runs no workflow.
func TestSessionAndMigrate(t *testing.T) {
	ctx := context.Background()
	v := cli.Values{"data-dir": t.TempDir()}
	for _, k := range []string{"POSTHASTE_DATABASE_URL", "POSTHASTE_AMQP_URL", "POSTHASTE_REDIS_URL", "POSTHASTE_SECRET_KEY", "POSTHASTE_DATA_DIR"} {
		t.Setenv(k, "")
	}
	dialect, err := migrateStore(ctx, v)
	if err != nil || dialect != "sqlite" {
		t.Fatalf("migrate = %q, %v", dialect, err)
	}
	s, err := openSession(ctx, v)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	op := platform.Operator(events.Actor{Type: events.ActorCLI, ID: "test"})
	st, err := s.App.Queries.Status(ctx, op)
	if err != nil || st.Backend != "embedded" || len(st.Backends) != 1 || st.Backends[0].Name != "sqlite" || !st.OK() ||
		len(st.Projections) != len(platformProjections()) {
		t.Errorf("status = %+v, %v", st, err)
	}
	w := s.App.Workflows
	if w.Delivery != nil || w.Relay != nil || w.Intake != nil {
		t.Errorf("a session runs workflows: %+v", w)
	}
	if _, err := openSession(ctx, cli.Values{"data-dir": t.TempDir(), "retry-factor": "0.5"}); err == nil ||
		!strings.Contains(err.Error(), "POSTHASTE_RETRY_FACTOR") {
		t.Errorf("a bad setting: %v", err)
	}
}
