package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra/doc"
	"github.com/spf13/pflag"
)

// manCommand is `posthaste man --dir DIR`: one roff man page per command (section 1), written
// into DIR: posthaste.1, posthaste-org-create.1, ...
func manCommand() *spec {
	var dir string
	return &spec{path: "man", synopsis: "--dir DIR", summary: "write the man pages (section 1) into a directory",
		flags: func(f *pflag.FlagSet) {
			f.StringVar(&dir, "dir", "", "the directory to write them into (created when missing; required)")
		},
		run: func(c *call) error {
			if err := c.noArgs(); err != nil {
				return err
			}
			if dir == "" {
				return usagef("--dir DIR is required")
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("create %s: %w", dir, err)
			}
			header := &doc.GenManHeader{Title: "POSTHASTE", Section: "1", Source: "Posthaste " + c.d.Version, Manual: "Posthaste Manual"}
			if err := doc.GenManTree(c.cmd.Root(), header, dir); err != nil {
				return fmt.Errorf("write man pages: %w", err)
			}
			return nil
		}}
}
