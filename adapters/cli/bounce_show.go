package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// bounceShow is `posthaste bounce show ID`: one received report, or with --raw its bytes as
// received.
func bounceShow() *spec {
	var raw, asJSON bool
	return &spec{path: "bounce show", synopsis: "ID [--raw] [--json]",
		summary: "show one received report: envelope, outcome per recipient (--raw: the message as received)", config: true,
		flags: func(f *pflag.FlagSet) {
			f.BoolVar(&raw, "raw", false, "print the message exactly as received, nothing else")
			f.BoolVar(&asJSON, "json", false, "one JSON object (with the raw message as a string)")
		},
		run: func(c *call) error {
			if len(c.args) != 1 {
				return usagef("want exactly one report ID")
			}
			s, err := c.open()
			if err != nil {
				return err
			}
			defer s.Close()
			r, err := s.app.Queries.InboundReport(c.ctx, s.op, c.args[0])
			if err != nil {
				return err
			}
			if raw {
				_, err := c.stdout().Write(r.Raw)
				return err
			}
			out := toReportJSON(r, true)
			if asJSON {
				s := string(r.Raw)
				out.Raw = &s
				return writeJSON(c.stdout(), out)
			}
			w := c.stdout()
			fmt.Fprintf(w, "report      %s\n", r.ID)
			fmt.Fprintf(w, "received    %s from %s (tls %v), %d bytes\n", r.ReceivedAt.Format(time.RFC3339), orDash(r.ClientIP), r.TLS, r.Size)
			fmt.Fprintf(w, "envelope    MAIL FROM:<%s> RCPT TO:%s\n", r.MailFrom, strings.Join(r.RcptTo, ","))
			fmt.Fprintf(w, "status      %s\n", r.Status)
			if s := out.Summary; s != nil {
				fmt.Fprintf(w, "kind        %s\n", s.Kind)
				if s.FeedbackType != "" {
					fmt.Fprintf(w, "feedback    %s\n", s.FeedbackType)
				}
				if s.ReportingMTA != "" {
					fmt.Fprintf(w, "reporter    %s\n", s.ReportingMTA)
				}
				if s.OriginalMessageID != "" {
					fmt.Fprintf(w, "original    <%s>\n", s.OriginalMessageID)
				}
				if s.LinkedBy != "" {
					fmt.Fprintf(w, "linked by   %s\n", s.LinkedBy)
				}
				if s.Refused != "" {
					fmt.Fprintf(w, "refused     %s\n", s.Refused)
				}
				if s.Error != "" {
					fmt.Fprintf(w, "error       %s\n", s.Error)
				}
				for _, rc := range s.Recipients {
					fmt.Fprintf(w, "recipient   %s: %s", orDash(rc.Address), rc.Outcome)
					if rc.MessageID != "" {
						fmt.Fprintf(w, " message %s", rc.MessageID)
					}
					if rc.Reason != "" {
						fmt.Fprintf(w, " reason %s/%s", rc.Reason, orDash(rc.Class))
					}
					if rc.Status != "" {
						fmt.Fprintf(w, " status %s", rc.Status)
					}
					if rc.Suppressed {
						fmt.Fprint(w, " (suppressed)")
					}
					fmt.Fprintln(w)
					if rc.Diagnostic != "" {
						fmt.Fprintf(w, "            %s\n", rc.Diagnostic)
					}
				}
			}
			_, err = fmt.Fprintf(w, "raw         posthaste bounce show %s --raw\n", r.ID)
			return err
		}}
}
