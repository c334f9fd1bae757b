package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/pflag"
)

// versionCommand is `posthaste version`: the build's version, VCS revision and Go version.
func versionCommand() *spec {
	var asJSON bool
	return &spec{path: "version", synopsis: "[--json]", summary: "print the version",
		flags: func(f *pflag.FlagSet) { f.BoolVar(&asJSON, "json", false, "print JSON") },
		run: func(c *call) error {
			if err := c.noArgs(); err != nil {
				return err
			}
			rev := ""
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" {
						rev = s.Value
					}
				}
			}
			if asJSON {
				return writeJSON(c.stdout(), map[string]string{"version": c.d.Version, "revision": rev, "go": runtime.Version()})
			}
			_, err := fmt.Fprintf(c.stdout(), "posthaste %s %s %s\n", c.d.Version, rev, runtime.Version())
			return err
		}}
}
