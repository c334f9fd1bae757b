package cli

import "fmt"

// messageCancelHold is `posthaste message cancel-hold ID`: a held message is dropped.
func messageCancelHold() *spec {
	return &spec{path: "message cancel-hold", synopsis: "ID", summary: "drop a held message without delivering it", config: true,
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
			if _, err := s.app.Commands.CancelHold(c.ctx, s.op, id); err != nil {
				return err
			}
			_, err = fmt.Fprintf(c.stdout(), "cancelled the hold of message %s\n", id)
			return err
		}}
}
