package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/posthaste/posthaste/adapters/dkimsign"
	"github.com/posthaste/posthaste/adapters/dnsresolver"
)

func init() {
	register(command{
		path:  "dkim verify",
		usage: "FILE|- [--keys KEYFILE] [--json]",
		summary: "verify a message's DKIM signatures (keys from KEYFILE or DNS via POSTHASTE_DNS_RESOLVER); " +
			"exit 0 all pass, 1 one fails, 2 none",
		run: runDKIMVerify,
	})
}

func runDKIMVerify(ctx context.Context, cio cliIO, args []string) error {
	asJSON := false
	keyFile, file := "", ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--json":
			asJSON = true
		case a == "--keys":
			if i+1 >= len(args) {
				return usagef("--keys needs a file")
			}
			i++
			keyFile = args[i]
		case len(a) > 7 && a[:7] == "--keys=":
			keyFile = a[7:]
		case len(a) > 1 && a[0] == '-':
			return usagef("unknown flag %s", a)
		case file != "":
			return usagef("one message at a time")
		default:
			file = a
		}
	}
	if file == "" {
		return usagef("no file given (use - for stdin)")
	}
	var msg []byte
	var err error
	if file == "-" {
		msg, err = io.ReadAll(cio.stdin)
	} else {
		msg, err = os.ReadFile(file)
	}
	if err != nil {
		return fmt.Errorf("read message: %w", err)
	}
	var lookup dkimsign.LookupTXT
	if keyFile != "" {
		data, err := os.ReadFile(keyFile)
		if err != nil {
			return fmt.Errorf("read keys: %w", err)
		}
		if lookup, err = dkimsign.KeyFile(data); err != nil {
			return err
		}
	} else {
		r, err := dnsresolver.New(cio.env("POSTHASTE_DNS_RESOLVER"), "/etc/resolv.conf", dnsresolver.DefaultTimeout)
		if err != nil {
			return fmt.Errorf("%w (set POSTHASTE_DNS_RESOLVER to host:port)", err)
		}
		lookup = r.LookupTXT
	}
	verdicts, err := dkimsign.Verify(ctx, msg, lookup)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(cio.stdout)
	enc.SetEscapeHTML(false)
	failed := 0
	for _, v := range verdicts {
		if v.Result != dkimsign.Pass {
			failed++
		}
		if asJSON {
			if err := enc.Encode(v); err != nil {
				return fmt.Errorf("write: %w", err)
			}
			continue
		}
		if v.Result == dkimsign.Pass {
			fmt.Fprintf(cio.stdout, "pass d=%s s=%s a=%s\n", v.Domain, v.Selector, v.Algorithm)
		} else {
			fmt.Fprintf(cio.stdout, "fail d=%s s=%s a=%s: %s: %s\n", v.Domain, v.Selector, v.Algorithm, v.Result, v.Reason)
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
}
