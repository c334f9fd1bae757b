package cli

import (
	"context"
	"io"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// call is one run of a command: its context, dependencies, flags and positional arguments.
type call struct {
	ctx  context.Context
	d    Deps
	cmd  *cobra.Command
	args []string
}

func (c *call) stdout() io.Writer { return c.d.Stdout }

// changed reports whether a flag was given on the command line.
func (c *call) changed(name string) bool { return c.cmd.Flags().Changed(name) }

// values returns the configuration flags given on the command line.
func (c *call) values() Values {
	v := Values{}
	c.cmd.Flags().Visit(func(f *pflag.Flag) {
		if _, ok := f.Annotations[annotationEnv]; ok {
			v[f.Name] = f.Value.String()
		}
	})
	return v
}

// oneArg returns the single positional argument or a usage error naming it.
func (c *call) oneArg(name string) (string, error) {
	if len(c.args) != 1 {
		return "", usagef("want exactly one %s, got %d arguments", name, len(c.args))
	}
	return c.args[0], nil
}

// noArgs refuses positional arguments.
func (c *call) noArgs() error {
	if len(c.args) != 0 {
		return usagef("unexpected argument %q", c.args[0])
	}
	return nil
}
