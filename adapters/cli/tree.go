package cli

import (
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// spec is one command: where it sits, how it is called, and what it does.
type spec struct {
	path     string // the words that select it: "org create"
	synopsis string // its arguments and flags as usage errors print them: "NAME [--json]"
	summary  string // one line
	config   bool   // takes the configuration flags (and reads the configuration)
	flags    func(f *pflag.FlagSet)
	run      func(c *call) error
}

// Annotations of the cobra commands and flags this package builds.
const (
	annotationSynopsis = "posthaste_synopsis" // command: its synopsis
	annotationEnv      = "posthaste_env"      // flag: the environment variable it overrides
)

// tree is the command tree of one Execute.
type tree struct {
	d     Deps
	root  *cobra.Command
	specs []*spec // every command (help lists them by path)
}

// pathOf returns a command's words without the program name: "org create".
func pathOf(cmd *cobra.Command) string {
	if cmd == nil || !cmd.HasParent() {
		return ""
	}
	return strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
}

func synopsisOf(cmd *cobra.Command) string {
	if cmd == nil {
		return ""
	}
	return cmd.Annotations[annotationSynopsis]
}

// newTree builds every command for one run on d.
func newTree(d Deps) *tree {
	t := &tree{d: d}
	t.root = &cobra.Command{
		Use:                "posthaste",
		Short:              "Posthaste, the self-hosted mail delivery platform",
		Args:               cobra.ArbitraryArgs,
		DisableFlagParsing: true, // a word that is no command is an unknown command, flags or not
		SilenceErrors:      true,
		SilenceUsage:       true,
		CompletionOptions:  cobra.CompletionOptions{DisableDefaultCmd: true},
		RunE:               func(cmd *cobra.Command, args []string) error { return unknownCommand(cmd, args) },
	}
	t.root.SetIn(d.Stdin)
	t.root.SetOut(d.Stdout)
	t.root.SetErr(d.Stderr)
	t.root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err.Error()} })
	t.root.SetHelpFunc(func(cmd *cobra.Command, _ []string) { t.writeHelp(cmd.OutOrStdout(), cmd) })
	t.root.SetUsageFunc(func(cmd *cobra.Command) error { t.writeHelp(cmd.OutOrStderr(), cmd); return nil })
	help := t.helpCommand()
	t.root.SetHelpCommand(help)
	t.root.AddCommand(help)
	t.specs = append(t.specs, &spec{path: "help", synopsis: "[COMMAND…]", summary: "print the help of posthaste or of a command"})
	for _, s := range commands() {
		t.add(s)
	}
	return t
}

// sortedSpecs returns the commands in path order.
func (t *tree) sortedSpecs() []*spec {
	out := append([]*spec(nil), t.specs...)
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out
}

// group returns the command of the words (creating the groups on the way).
func (t *tree) group(words []string) *cobra.Command {
	parent := t.root
	for _, w := range words {
		var next *cobra.Command
		for _, c := range parent.Commands() {
			if c.Name() == w {
				next = c
			}
		}
		if next == nil {
			next = &cobra.Command{
				Use:                w,
				Short:              "the " + w + " commands",
				Args:               cobra.ArbitraryArgs,
				DisableFlagParsing: true,
				RunE: func(cmd *cobra.Command, args []string) error {
					for _, a := range args {
						if a == "-h" || a == "--help" {
							return cmd.Help()
						}
					}
					return unknownCommand(cmd, args)
				},
			}
			parent.AddCommand(next)
		}
		parent = next
	}
	return parent
}

// add puts s in the tree.
func (t *tree) add(s *spec) {
	words := strings.Fields(s.path)
	parent := t.group(words[:len(words)-1])
	use := words[len(words)-1]
	if s.synopsis != "" {
		use += " " + s.synopsis
	}
	cmd := &cobra.Command{
		Use:         use,
		Short:       s.summary,
		Args:        cobra.ArbitraryArgs,
		Annotations: map[string]string{annotationSynopsis: s.synopsis},
		RunE: func(cmd *cobra.Command, args []string) error {
			return s.run(&call{ctx: cmd.Context(), d: t.d, cmd: cmd, args: args})
		},
	}
	cmd.Flags().SortFlags = false
	cmd.Flags().BoolP("help", "h", false, "print this help")
	if s.flags != nil {
		s.flags(cmd.Flags())
	}
	if s.config {
		addSettings(cmd.Flags(), t.d.Settings)
	}
	parent.AddCommand(cmd)
	t.specs = append(t.specs, s)
}

// unknownCommand is the error of a command line that stops at a group or names nothing.
func unknownCommand(cmd *cobra.Command, args []string) error {
	return unknownCommandError{words: append(strings.Fields(pathOf(cmd)), args...)}
}
