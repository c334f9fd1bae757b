package cli

import (
	"fmt"
	"strings"

	"github.com/posthaste/posthaste/domain/tenancy"
)

// The flags several commands share.

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
