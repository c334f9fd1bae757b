package cli

import (
	"fmt"
	"strings"

	"github.com/posthaste/posthaste/domain/tenancy"
)

// Positional arguments and the flags several commands share.

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

// serverFlag parses the required --server ORG/NAME.
func serverFlag(v string) (tenancy.ServerRef, error) {
	if v == "" {
		return tenancy.ServerRef{}, usagef("--server ORG/NAME is required")
	}
	ref, err := tenancy.ParseServerRef(v)
	if err != nil {
		return tenancy.ServerRef{}, fmt.Errorf("--server: %w", err)
	}
	return ref, nil
}

// splitList splits a comma list, dropping blanks.
func splitList(v string) []string {
	var out []string
	for _, x := range strings.Split(v, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}
