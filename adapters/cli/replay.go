package cli

import (
	"fmt"

	"github.com/spf13/pflag"
)

// replayCommand is `posthaste replay NAME…|--all`: the projections rebuilt from the log, each
// swapped in once all are built.
func replayCommand() *spec {
	var all, asJSON bool
	return &spec{path: "replay", synopsis: "NAME…|--all [--json]", summary: "rebuild projections from the event log", config: true,
		flags: func(f *pflag.FlagSet) {
			f.BoolVar(&all, "all", false, "replay every projection")
			f.BoolVar(&asJSON, "json", false, "JSON lines")
		},
		run: func(c *call) error {
			switch {
			case all && len(c.args) > 0:
				return usagef("give projection names or --all, not both")
			case !all && len(c.args) == 0:
				return usagef("name the projections to replay, or --all")
			}
			s, err := c.open()
			if err != nil {
				return err
			}
			defer s.Close()
			names, err := s.selectProjections(c.args, all, false)
			if err != nil {
				return err
			}
			results, err := s.app.Commands.Replay(c.ctx, s.op, names)
			for _, res := range results {
				if asJSON {
					if err := writeJSON(c.stdout(), res); err != nil {
						return err
					}
					continue
				}
				fmt.Fprintf(c.stdout(), "%s: replayed %d events (applied %d, dead letters %d) up to position %d\n",
					res.Projection, res.Events, res.Applied, res.DeadLetters, res.Position)
			}
			if err != nil {
				return fmt.Errorf("replay: %w", err)
			}
			return nil
		}}
}
