package main

import (
	"errors"
	"flag"
	"io"
	"log/slog"
	"os/user"
	"strings"
)

// newFlagSet returns a flag set for the command at path that reports parse errors as usage
// errors. withConfig adds one flag per configuration variable (--data-dir, --database-url…).
func newFlagSet(path string, withConfig bool) *flag.FlagSet {
	fs := flag.NewFlagSet(path, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if withConfig {
		addConfigFlags(fs)
	}
	return fs
}

// parseArgs parses flags anywhere among the arguments (flag stops at the first positional one)
// and returns the positional arguments. Errors are usage errors (exit status 2).
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, usagef("flags: %s", flagNames(fs))
			}
			return nil, usagef("%s", err.Error())
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		// "--" ends flag parsing: everything after it is positional.
		if len(pos) == 0 && len(args) > 0 && fs.NArg() > 0 && args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func flagNames(fs *flag.FlagSet) string {
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, "--"+f.Name) })
	return strings.Join(names, " ")
}

// loadCommandConfig parses args on fs (which must carry the config flags) and loads the
// configuration. It returns the positional arguments.
func loadCommandConfig(fs *flag.FlagSet, args []string, cio cliIO) (Config, []string, error) {
	pos, err := parseArgs(fs, args)
	if err != nil {
		return Config{}, nil, err
	}
	cfg, err := loadConfig(cio.env, fs)
	return cfg, pos, err
}

// newLogger writes text logs at the configured level to w (stderr).
func newLogger(cfg Config, w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: cfg.LogLevel}))
}

// cliActorID is the OS user recorded as the actor of admin commands (actor cli:<user>).
func cliActorID(env func(string) string) string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if v := env("USER"); v != "" {
		return v
	}
	return "unknown"
}
