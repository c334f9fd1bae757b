package dkimsign_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posthaste/posthaste/adapters/dkimsign"
	"github.com/posthaste/posthaste/domain/platform"
)

// TestVerifierOnTheVectors runs the Verifier (platform.DKIMVerifier) on every row of the shared
// expected.tsv, once with the row's key file and once with the same keys served as DNS: the
// verdicts are Verify's, field for field, and encode to the same JSON (`dkim verify --json`).
func TestVerifierOnTheVectors(t *testing.T) {
	tsv, err := os.ReadFile(filepath.Join(vectors, "expected.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	rows := 0
	for _, line := range strings.Split(string(tsv), "\n") {
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.Split(line, "\t")
		rows++
		t.Run(cols[0], func(t *testing.T) {
			ctx := context.Background()
			msg, keys := read(t, cols[0]), read(t, cols[1])
			want, err := dkimsign.Verify(ctx, msg, keyFileLookup(t, string(keys)))
			if err != nil {
				t.Fatal(err)
			}
			fromFile, err := dkimsign.NewVerifier(nil).Verify(ctx, msg, keys)
			if err != nil {
				t.Fatal(err)
			}
			fromDNS, err := dkimsign.NewVerifier(keyFileLookup(t, string(keys))).Verify(ctx, msg, nil)
			if err != nil {
				t.Fatal(err)
			}
			for name, got := range map[string][]platform.DKIMVerdict{"key file": fromFile, "dns": fromDNS} {
				if len(got) != len(want) || (want == nil) != (got == nil) {
					t.Fatalf("%s: %d verdicts %+v, want %+v", name, len(got), got, want)
				}
				var results []string
				for i := range want {
					g, _ := json.Marshal(got[i])
					w, _ := json.Marshal(want[i])
					if string(g) != string(w) {
						t.Errorf("%s: verdict %d encodes %s, want %s", name, i, g, w)
					}
					r := string(got[i].Result)
					if got[i].Result != platform.DKIMPass {
						r = "fail" // the vectors only tell pass from not-pass
					}
					results = append(results, r)
				}
				if g := strings.Join(results, ","); g != cols[2] && !(g == "" && cols[2] == "none") {
					t.Errorf("%s: got %s, want %s", name, g, cols[2])
				}
			}
		})
	}
	if rows < 8 {
		t.Fatalf("only %d rows in expected.tsv", rows)
	}
}

// The key file wins over DNS; a DNS failure is a temperror verdict; a verifier without DNS
// refuses a message without a key file; a key file that does not parse is an error.
func TestVerifierKeySources(t *testing.T) {
	ctx := context.Background()
	msg, keys := read(t, "rfc8463/signed.eml"), read(t, "rfc8463/keys.txt")
	broken := dkimsign.NewVerifier(func(context.Context, string) ([]string, error) { return nil, errors.New("dns down") })
	vs, err := broken.Verify(ctx, msg, keys)
	if err != nil || len(vs) != 2 || vs[0].Result != platform.DKIMPass || vs[1].Result != platform.DKIMPass {
		t.Errorf("with a key file: %+v %v", vs, err)
	}
	vs, err = broken.Verify(ctx, msg, nil)
	if err != nil || len(vs) != 2 || vs[0].Result != platform.DKIMTempError || vs[1].Result != platform.DKIMTempError {
		t.Errorf("dns down: %+v %v", vs, err)
	}
	if _, err := dkimsign.NewVerifier(nil).Verify(ctx, msg, nil); err == nil {
		t.Error("no key source: no error")
	}
	if _, err := dkimsign.NewVerifier(nil).Verify(ctx, msg, []byte("brisbane._domainkey.example.com\n")); err == nil {
		t.Error("a key file line without a record: no error")
	}
	if vs, err := dkimsign.NewVerifier(nil).Verify(ctx, read(t, "rfc8463/unsigned.eml"), keys); err != nil || vs != nil {
		t.Errorf("unsigned: %+v %v", vs, err)
	}
	for d, p := range map[dkimsign.Result]platform.DKIMResult{dkimsign.Pass: platform.DKIMPass, dkimsign.Fail: platform.DKIMFail,
		dkimsign.PermError: platform.DKIMPermError, dkimsign.TempError: platform.DKIMTempError} {
		if string(d) != string(p) {
			t.Errorf("dkimsign %q is platform %q", d, p)
		}
	}
}
