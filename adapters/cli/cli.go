package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/posthaste/posthaste/domain/platform"
)

// Setting is one configuration variable (the README's table). Every command that reads the
// configuration accepts it as the flag --Flag, which overrides the environment variable Env.
type Setting struct {
	Env     string // "POSTHASTE_DATA_DIR"
	Flag    string // "data-dir"
	Default string // shown in help ("" = none)
	Usage   string // one line
	Bool    bool   // a switch: its value is true or false
}

// Values are the configuration flags set on one command line, by flag name (only those set).
type Values map[string]string

// Session is an opened platform for one admin command. Close releases it.
type Session struct {
	App   *platform.Application
	Close func() error
}

// Deps is what the command line runs on.
type Deps struct {
	Settings []Setting
	// Open loads the configuration (environment + v; every problem reported at once, each
	// naming its variable), opens and migrates the store and composes the application (no
	// workflows, no bus) for an admin command.
	Open func(ctx context.Context, v Values) (*Session, error)
	// Migrate migrates the store and returns the dialect word `migrate` prints ("mysql"|"sqlite").
	Migrate func(ctx context.Context, v Values) (string, error)
	// Serve runs the configured roles until ctx ends (SIGTERM/SIGINT), then drains.
	Serve func(ctx context.Context, v Values) error
	// DKIM verifies signatures for `dkim verify` without opening a store (keys from a key file or
	// DNS via POSTHASTE_DNS_RESOLVER).
	DKIM    func(v Values) (platform.DKIMVerifier, error)
	Version string
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
	Getenv  func(string) string
}

// validate lists every missing dependency.
func (d Deps) validate() error {
	var errs []error
	need := func(ok bool, what string) {
		if !ok {
			errs = append(errs, errors.New(what))
		}
	}
	need(len(d.Settings) > 0, "no settings")
	for _, s := range d.Settings {
		need(s.Env != "" && s.Flag != "", fmt.Sprintf("setting %q/%q: env and flag are required", s.Env, s.Flag))
	}
	need(d.Open != nil, "open is nil")
	need(d.Migrate != nil, "migrate is nil")
	need(d.Serve != nil, "serve is nil")
	need(d.DKIM != nil, "dkim is nil")
	need(d.Stdin != nil, "stdin is nil")
	need(d.Stdout != nil, "stdout is nil")
	need(d.Stderr != nil, "stderr is nil")
	need(d.Getenv != nil, "getenv is nil")
	return errors.Join(errs...)
}

// Execute runs one command line and returns the exit status (0 ok, 1 failure, 2 usage). Errors
// are one line on stderr: "posthaste CMD: message", usage errors followed by
// "(usage: posthaste CMD SYNOPSIS)".
func Execute(ctx context.Context, args []string, d Deps) int {
	if err := d.validate(); err != nil {
		w := d.Stderr
		if w == nil {
			w = os.Stderr
		}
		fmt.Fprintf(w, "posthaste: cli: %s\n", strings.ReplaceAll(err.Error(), "\n", "; "))
		return 1
	}
	t := newTree(d)
	if len(args) == 0 {
		t.writeRootHelp(d.Stdout)
		return 2
	}
	if args[0] == "-h" || args[0] == "--help" {
		t.writeRootHelp(d.Stdout)
		return 0
	}
	t.root.SetArgs(args)
	cmd, err := t.root.ExecuteContextC(ctx)
	return report(d.Stderr, cmd, err)
}

// report prints err as the one line of a failed command and returns the exit status.
func report(w io.Writer, cmd *cobra.Command, err error) int {
	if err == nil {
		return 0
	}
	msg := strings.ReplaceAll(err.Error(), "\n", "; ")
	var unknown unknownCommandError
	if errors.As(err, &unknown) {
		fmt.Fprintf(w, "posthaste: unknown command %q (see 'posthaste help')\n", strings.Join(unknown.words, " "))
		return 2
	}
	path := pathOf(cmd)
	var ee exitError
	if errors.As(err, &ee) {
		fmt.Fprintf(w, "posthaste %s: %s\n", path, msg)
		return ee.code
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(w, "posthaste %s: %s (usage: posthaste %s %s)\n", path, msg, path, synopsisOf(cmd))
		return 2
	}
	fmt.Fprintf(w, "posthaste %s: %s\n", path, msg)
	return 1
}
