package cli

import "fmt"

// messageRelease is `posthaste message release ID`: a held message goes to delivery.
func messageRelease() *spec {
	return &spec{path: "message release", synopsis: "ID", summary: "deliver a held message", config: true,
		run: func(c *call) error {
			id, err := c.oneArg("ID")
			if err != nil {
				return err
			}
			s, err := c.open()
			if err != nil {
				return err
			}
			defer s.Close()
			if _, err := s.app.Commands.ReleaseHold(c.ctx, s.op, id); err != nil {
				return err
			}
			_, err = fmt.Fprintf(c.stdout(), "released message %s\n", id)
			return err
		}}
}
