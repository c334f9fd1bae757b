// Command posthaste is the Posthaste binary: flags, configuration and wiring only.
// Business rules live in domain/, read models in projections/, the outside world in adapters/.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// command is one CLI command. Each file cmd_*.go registers its commands in init().
type command struct {
	path    string // words that select it, e.g. "org create"
	usage   string // argument synopsis shown by help, e.g. "NAME [--json]"
	summary string
	run     func(ctx context.Context, io cliIO, args []string) error
}

// cliIO is what a command may touch besides its arguments.
type cliIO struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	env            func(string) string // os.Getenv, replaceable in tests
}

var commands = map[string]command{}

func register(c command) {
	if _, dup := commands[c.path]; dup {
		panic("posthaste: duplicate command " + c.path)
	}
	commands[c.path] = c
}

// usageError is a mistake in how the command was called: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// exitError ends a command with its own exit status (e.g. 2 for "no signature" in `dkim
// verify`, as dkimpy's verifier does) without the usage hint.
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], cliIO{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, env: os.Getenv})
	stop()
	os.Exit(code)
}

// run dispatches to the longest registered command path that prefixes args and maps its error
// to an exit status: 0 ok, 1 failure, 2 usage. Errors are one line on stderr.
func run(ctx context.Context, args []string, cio cliIO) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		printHelp(cio.stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	var best command
	n := 0
	for i := len(args); i > 0; i-- {
		if c, ok := commands[strings.Join(args[:i], " ")]; ok {
			best, n = c, i
			break
		}
	}
	if n == 0 {
		fmt.Fprintf(cio.stderr, "posthaste: unknown command %q (see 'posthaste help')\n", strings.Join(args, " "))
		return 2
	}
	err := best.run(ctx, cio, args[n:])
	if err == nil {
		return 0
	}
	msg := strings.ReplaceAll(err.Error(), "\n", "; ")
	var ee exitError
	if errors.As(err, &ee) {
		fmt.Fprintf(cio.stderr, "posthaste %s: %s\n", best.path, msg)
		return ee.code
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(cio.stderr, "posthaste %s: %s (usage: posthaste %s %s)\n", best.path, msg, best.path, best.usage)
		return 2
	}
	fmt.Fprintf(cio.stderr, "posthaste %s: %s\n", best.path, msg)
	return 1
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "usage: posthaste COMMAND [ARGS] [--json]")
	fmt.Fprintln(w)
	paths := make([]string, 0, len(commands))
	for p := range commands {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		c := commands[p]
		fmt.Fprintf(w, "  %-28s %s\n", strings.TrimSpace(p+" "+c.usage), c.summary)
	}
}
