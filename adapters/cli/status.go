package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// statusTimeout bounds one status collection.
const statusTimeout = 5 * time.Second

// statusCommand is `posthaste status`: it fails (exit 1) when a backend does not answer or part
// of the state cannot be read, after printing what it could.
func statusCommand() *spec {
	var asJSON bool
	return &spec{path: "status", synopsis: "[--json]", summary: "backends reachable, relay lag, projection lag, dead letters", config: true,
		flags: func(f *pflag.FlagSet) { f.BoolVar(&asJSON, "json", false, "one JSON object") },
		run: func(c *call) error {
			if err := c.noArgs(); err != nil {
				return err
			}
			s, err := c.open()
			if err != nil {
				return err
			}
			defer s.Close()
			ctx, cancel := context.WithTimeout(c.ctx, statusTimeout)
			defer cancel()
			st, err := s.app.Queries.Status(ctx, s.op)
			if err != nil {
				return err
			}
			if asJSON {
				if err := writeJSON(c.stdout(), st); err != nil {
					return err
				}
			} else {
				w := c.stdout()
				fmt.Fprintf(w, "backend: %s\n", st.Backend)
				for _, b := range st.Backends {
					state := "ok"
					if !b.OK {
						state = "FAILED: " + b.Error
					}
					fmt.Fprintf(w, "  %-10s %s\n", b.Name, state)
				}
				fmt.Fprintf(w, "head position: %d\nrelay lag: %d events in the outbox\n", st.Head, st.RelayLag)
				fmt.Fprintf(w, "dead letters: %d recorded, %d on the bus\nprojections:\n", st.DeadLetters, st.BusDeadLetters)
				for _, ps := range st.Projections {
					fmt.Fprintf(w, "  %-16s applied %d, lag %d, dead letters %d (bus %d)\n", ps.Projection, ps.Applied, ps.Lag, ps.DeadLetters, ps.BusDeadLetters)
				}
				for _, e := range st.Errors {
					fmt.Fprintf(w, "error: %s\n", e)
				}
			}
			if !st.OK() {
				var failed []string
				for _, b := range st.Backends {
					if !b.OK {
						failed = append(failed, b.Name)
					}
				}
				return errors.New("unhealthy: " + strings.Join(append(failed, st.Errors...), "; "))
			}
			return nil
		}}
}
