package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Help: `posthaste help`, `posthaste help CMD…` and `CMD --help` print to stdout and exit 0. A
// command's help names every flag with its description; a configuration flag also names its
// environment variable and default.

// helpCommand is `posthaste help [COMMAND…]`.
func (t *tree) helpCommand() *cobra.Command {
	return &cobra.Command{
		Use:                "help [COMMAND…]",
		Short:              "print the help of posthaste or of a command",
		Args:               cobra.ArbitraryArgs,
		DisableFlagParsing: true,
		Annotations:        map[string]string{annotationSynopsis: "[COMMAND…]"},
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) == 0:
				t.writeRootHelp(cmd.OutOrStdout())
				return nil
			case len(args) == 1 && (args[0] == "-h" || args[0] == "--help"):
				t.writeHelp(cmd.OutOrStdout(), cmd)
				return nil
			}
			found, rest, err := t.root.Find(args)
			if err != nil || found == t.root || len(rest) > 0 && found.HasSubCommands() {
				return unknownCommandError{words: args}
			}
			t.writeHelp(cmd.OutOrStdout(), found)
			return nil
		},
	}
}

// writeHelp prints the help of one command.
func (t *tree) writeHelp(w io.Writer, cmd *cobra.Command) {
	if cmd == t.root {
		t.writeRootHelp(w)
		return
	}
	path := pathOf(cmd)
	if cmd.HasSubCommands() {
		fmt.Fprintf(w, "usage: posthaste %s COMMAND\n\n%s:\n", path, cmd.Short)
		t.writeCommandList(w, path+" ")
		fmt.Fprintf(w, "\n'posthaste help %s COMMAND' prints a command's flags.\n", path)
		return
	}
	fmt.Fprintf(w, "usage: posthaste %s %s\n\n%s\n", path, synopsisOf(cmd), cmd.Short)
	own, config := pflag.NewFlagSet(path, pflag.ContinueOnError), pflag.NewFlagSet(path, pflag.ContinueOnError)
	own.SortFlags, config.SortFlags = false, false
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if _, ok := f.Annotations[annotationEnv]; ok {
			config.AddFlag(f)
		} else {
			own.AddFlag(f)
		}
	})
	fmt.Fprintf(w, "\nflags:\n%s", own.FlagUsages())
	if config.HasFlags() {
		fmt.Fprintf(w, "\nconfiguration flags (each overrides its environment variable):\n%s", config.FlagUsages())
	}
}

// writeRootHelp prints every command with its synopsis, and the configuration flags.
func (t *tree) writeRootHelp(w io.Writer) {
	fmt.Fprintln(w, "usage: posthaste COMMAND [ARGS] [--json]")
	fmt.Fprintln(w)
	t.writeCommandList(w, "")
	fmt.Fprintln(w, "\n'posthaste help COMMAND' (or 'posthaste COMMAND --help') prints a command's flags.")
	config := pflag.NewFlagSet("posthaste", pflag.ContinueOnError)
	config.SortFlags = false
	addSettings(config, t.d.Settings)
	fmt.Fprintf(w, "\nconfiguration flags, taken by every command that reads the configuration (each overrides its environment variable):\n%s",
		config.FlagUsages())
}

// writeCommandList prints one line per command whose path starts with prefix, in path order.
func (t *tree) writeCommandList(w io.Writer, prefix string) {
	for _, s := range t.sortedSpecs() {
		if strings.HasPrefix(s.path+" ", prefix) {
			fmt.Fprintf(w, "  %-28s %s\n", strings.TrimSpace(s.path+" "+s.synopsis), s.summary)
		}
	}
}
