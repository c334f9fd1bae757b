package cli

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/posthaste/posthaste/domain/platform"
)

type sendTestJSON struct {
	SubmissionID string `json:"submission_id"`
	MessageID    string `json:"message_id"`
	Header       string `json:"message_id_header"`
}

// sendTest is `posthaste send-test TO --from ADDR --server ORG/NAME`: a small message queued
// exactly as an SMTP submission would be (same checks, same holds); a running serve delivers it.
func sendTest() *spec {
	var (
		from, server string
		asJSON       bool
	)
	return &spec{path: "send-test", synopsis: "TO --from ADDR --server ORG/NAME [--json]", summary: "queue a test message through the normal pipeline", config: true,
		flags: func(f *pflag.FlagSet) {
			f.StringVar(&from, "from", "", "the From address (a verified domain of the server)")
			f.StringVar(&server, "server", "", "the server, ORG/NAME")
			f.BoolVar(&asJSON, "json", false, "print the ids as JSON")
		},
		run: func(c *call) error {
			to, err := c.oneArg("TO")
			if err != nil {
				return err
			}
			if from == "" {
				return usagef("--from ADDR is required")
			}
			for _, a := range []string{to, from} {
				if _, err := platform.CheckMailbox(a); err != nil {
					return err
				}
			}
			ref, err := serverFlag(server)
			if err != nil {
				return err
			}
			s, err := c.open()
			if err != nil {
				return err
			}
			defer s.Close()
			res, err := s.app.Commands.SendTest(c.ctx, s.op, platform.SendTest{Server: ref.String(), From: from, To: to})
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.stdout(), sendTestJSON{SubmissionID: res.SubmissionID, MessageID: res.MessageID, Header: res.Header})
			}
			_, err = fmt.Fprintf(c.stdout(), "queued test message %s to %s (submission %s); follow it with: posthaste events --message %s\n",
				res.MessageID, to, res.SubmissionID, res.MessageID)
			return err
		}}
}
