package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is set at build time: go build -ldflags "-X main.version=v1.2.3".
var version = "dev"

func init() {
	register(command{path: "version", usage: "[--json]", summary: "print the version", run: runVersion})
}

func runVersion(_ context.Context, cio cliIO, args []string) error {
	fs := newFlagSet("version", false)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	rev := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				rev = s.Value
			}
		}
	}
	if *asJSON {
		return writeJSON(cio.stdout, map[string]string{"version": version, "revision": rev, "go": runtime.Version()})
	}
	fmt.Fprintf(cio.stdout, "posthaste %s %s %s\n", version, rev, runtime.Version())
	return nil
}
