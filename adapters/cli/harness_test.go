package cli

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/posthaste/posthaste/adapters/dkimsign"
	"github.com/posthaste/posthaste/domain/platform"
)

// testSettings are a few configuration variables, as the binary's table has them.
var testSettings = []Setting{
	{Env: "POSTHASTE_DATA_DIR", Flag: "data-dir", Default: "./data", Usage: "embedded default storage"},
	{Env: "POSTHASTE_DNS_RESOLVER", Flag: "dns-resolver", Usage: "host:port of the DNS server"},
	{Env: "POSTHASTE_WEBHOOK_ALLOW_PRIVATE", Flag: "webhook-allow-private", Default: "false", Usage: "allow private webhook targets", Bool: true},
}

var errNoStore = errors.New("no store in this test")

// toolDeps runs the commands that read no state: Open, Migrate and Serve fail; dkim verify
// verifies with key files only.
func toolDeps() Deps {
	return Deps{
		Settings: testSettings,
		Open:     func(context.Context, Values) (*Session, error) { return nil, errNoStore },
		Migrate:  func(context.Context, Values) (string, error) { return "", errNoStore },
		Serve:    func(context.Context, Values) error { return errNoStore },
		DKIM:     func(Values) (platform.DKIMVerifier, error) { return keyFileVerifier{}, nil },
		Version:  "test",
		Getenv:   func(string) string { return "" },
	}
}

// keyFileVerifier is platform.DKIMVerifier over adapters/dkimsign with keys from a key file.
type keyFileVerifier struct{}

func (keyFileVerifier) Verify(ctx context.Context, msg, keyFile []byte) ([]platform.DKIMVerdict, error) {
	if keyFile == nil {
		return nil, errors.New("no DNS in this test")
	}
	lookup, err := dkimsign.KeyFile(keyFile)
	if err != nil {
		return nil, err
	}
	vs, err := dkimsign.Verify(ctx, msg, lookup)
	out := make([]platform.DKIMVerdict, len(vs))
	for i, v := range vs {
		out[i] = platform.DKIMVerdict{Domain: v.Domain, Selector: v.Selector, Algorithm: v.Algorithm, Result: platform.DKIMResult(v.Result), Reason: v.Reason}
	}
	return out, err
}

// runCLI runs one command line on d with stdin and returns the exit status, stdout and stderr.
func runCLI(t *testing.T, d Deps, stdin []byte, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	d.Stdin, d.Stdout, d.Stderr = bytes.NewReader(stdin), &out, &errb
	code := Execute(context.Background(), args, d)
	return code, out.String(), errb.String()
}
