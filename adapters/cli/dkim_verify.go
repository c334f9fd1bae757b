package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"

	"github.com/posthaste/posthaste/domain/platform"
)

// dkimVerify is `posthaste dkim verify FILE|-`: one line per DKIM-Signature; exit 0 when all
// pass, 1 when one does not, 2 when there is none (as dkimpy's verifier). It reads no state: the
// verifier comes from Deps.DKIM, with keys from --keys or DNS.
func dkimVerify() *spec {
	var (
		keyFile string
		asJSON  bool
	)
	return &spec{path: "dkim verify", synopsis: "FILE|- [--keys KEYFILE] [--json]",
		summary: "verify a message's DKIM signatures (keys from KEYFILE or DNS via POSTHASTE_DNS_RESOLVER); " +
			"exit 0 all pass, 1 one fails, 2 none",
		config: true,
		flags: func(f *pflag.FlagSet) {
			f.StringVar(&keyFile, "keys", "", `public keys, one "selector._domainkey.domain TXT-value" per line (default: DNS)`)
			f.BoolVar(&asJSON, "json", false, "JSON lines, one per signature")
		},
		run: func(c *call) error {
			switch {
			case len(c.args) == 0:
				return usagef("no file given (use - for stdin)")
			case len(c.args) > 1:
				return usagef("one message at a time")
			}
			file := c.args[0]
			var msg []byte
			var err error
			if file == "-" {
				msg, err = io.ReadAll(c.d.Stdin)
			} else {
				msg, err = os.ReadFile(file)
			}
			if err != nil {
				return fmt.Errorf("read message: %w", err)
			}
			var keys []byte
			if keyFile != "" {
				if keys, err = os.ReadFile(keyFile); err != nil {
					return fmt.Errorf("read keys: %w", err)
				}
			}
			v, err := c.d.DKIM(c.values())
			if err != nil {
				return err
			}
			verdicts, err := v.Verify(c.ctx, msg, keys)
			if err != nil {
				return err
			}
			failed := 0
			for _, vd := range verdicts {
				if vd.Result != platform.DKIMPass {
					failed++
				}
				if asJSON {
					if err := writeJSON(c.stdout(), vd); err != nil {
						return fmt.Errorf("write: %w", err)
					}
					continue
				}
				if vd.Result == platform.DKIMPass {
					fmt.Fprintf(c.stdout(), "pass d=%s s=%s a=%s\n", vd.Domain, vd.Selector, vd.Algorithm)
				} else {
					fmt.Fprintf(c.stdout(), "fail d=%s s=%s a=%s: %s: %s\n", vd.Domain, vd.Selector, vd.Algorithm, vd.Result, vd.Reason)
				}
			}
			switch {
			case len(verdicts) == 0:
				// exit 2, as ../shared/tools/dkim-verify.py does for an unsigned message
				return exitError{code: 2, msg: fmt.Sprintf("no DKIM-Signature in %s", file)}
			case failed > 0:
				return fmt.Errorf("%d of %d signatures did not pass", failed, len(verdicts))
			}
			return nil
		}}
}
