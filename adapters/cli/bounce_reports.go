package cli

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/posthaste/posthaste/domain/inbound"
)

// bounceReports is `posthaste bounce reports`: what the MX listener received, newest first, with
// what the intake made of it.
func bounceReports() *spec {
	var (
		status string
		limit  int
		asJSON bool
	)
	return &spec{path: "bounce reports", synopsis: "[--status linked|unlinked|malformed|autoreply|pending] [--limit N] [--json]",
		summary: "list the reports received by the MX listener, newest first", config: true,
		flags: func(f *pflag.FlagSet) {
			f.StringVar(&status, "status", "", "only reports with this status: "+strings.Join(inbound.Statuses, ", "))
			f.IntVar(&limit, "limit", 100, "at most this many reports")
			f.BoolVar(&asJSON, "json", false, "JSON lines")
		},
		run: func(c *call) error {
			if err := c.noArgs(); err != nil {
				return err
			}
			if status != "" && !slices.Contains(inbound.Statuses, status) {
				return usagef("--status %q: want one of %s", status, strings.Join(inbound.Statuses, ", "))
			}
			if limit < 1 {
				return usagef("--limit must be at least 1")
			}
			s, err := c.open()
			if err != nil {
				return err
			}
			defer s.Close()
			rs, err := s.app.Queries.InboundReports(c.ctx, s.op, inbound.Filter{Status: status, Limit: limit})
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSONLines(c.stdout(), rs, func(r inbound.Report) reportJSON { return toReportJSON(r, false) })
			}
			tw := tabwriter.NewWriter(c.stdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tRECEIVED\tSTATUS\tKIND\tMESSAGE\tRCPT TO\tSIZE")
			for _, r := range rs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", r.ID, r.ReceivedAt.Format(time.RFC3339), r.Status, orDash(r.Kind),
					orDash(r.MessageID), orDash(strings.Join(r.RcptTo, ",")), r.Size)
			}
			return tw.Flush()
		}}
}
