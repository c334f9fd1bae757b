package cli

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/posthaste/posthaste/domain/message"
	"github.com/posthaste/posthaste/domain/platform"
)

// asOfJSON is `stats --as-of`: how many of the server's messages stood in each state at a time.
type asOfJSON struct {
	Server   string           `json:"server"`
	AsOf     time.Time        `json:"as_of"`
	Messages int              `json:"messages"`
	Statuses map[string]int64 `json:"statuses"`
	Events   int              `json:"events"`
}

// statsCommand is `posthaste stats --server ORG/NAME`: delivery analytics per day or hour (the
// stats read model), or with --as-of the messages by state at a time (the log).
func statsCommand() *spec {
	var (
		server, from, to, tz, by, asOf string
		top                            int
		asJSON                         bool
	)
	return &spec{path: "stats", synopsis: "--server ORG/NAME [--from T] [--to T] [--tz ZONE] [--by day|hour] [--as-of T] [--json]",
		summary: "delivery analytics per day or hour; --as-of counts message states from the log", config: true,
		flags: func(f *pflag.FlagSet) {
			f.StringVar(&server, "server", "", "the server, ORG/NAME")
			f.StringVar(&from, "from", "-168h", "from (RFC 3339, date or relative)")
			f.StringVar(&to, "to", "", "to, exclusive (default now)")
			f.StringVar(&tz, "tz", "UTC", "time zone of the day buckets (IANA name, e.g. Europe/Berlin)")
			f.StringVar(&by, "by", "day", "bucket: day or hour")
			f.IntVar(&top, "top", 10, "how many recipient domains to list")
			f.StringVar(&asOf, "as-of", "", "count message states as they stood at this time, from the event log")
			f.BoolVar(&asJSON, "json", false, "one JSON object")
		},
		run: func(c *call) error {
			if err := c.noArgs(); err != nil {
				return err
			}
			ref, err := serverFlag(server)
			if err != nil {
				return err
			}
			now := time.Now()
			zone, err := time.LoadLocation(tz)
			if err != nil {
				return usagef("--tz: unknown time zone %q", tz)
			}
			if by != "day" && by != "hour" {
				return usagef("--by: want day or hour")
			}
			var fromT, toT, asOfT time.Time
			if fromT, err = parseAnyTime(from, now); err != nil {
				return usagef("--from: %v", err)
			}
			toT = now
			if to != "" {
				if toT, err = parseAnyTime(to, now); err != nil {
					return usagef("--to: %v", err)
				}
			}
			if asOf != "" {
				if asOfT, err = parseAnyTime(asOf, now); err != nil {
					return usagef("--as-of: %v", err)
				}
			}
			s, err := c.open()
			if err != nil {
				return err
			}
			defer s.Close()
			if !asOfT.IsZero() {
				st, err := s.app.Queries.StatesAsOf(c.ctx, s.op, ref.String(), asOfT)
				if err != nil {
					return err
				}
				res := asOfJSON{Server: st.ServerID, AsOf: st.AsOf, Messages: st.Messages, Statuses: map[string]int64{}, Events: st.Events}
				for k, n := range st.ByStatus {
					res.Statuses[string(k)] = n
				}
				if asJSON {
					return writeJSON(c.stdout(), res)
				}
				fmt.Fprintf(c.stdout(), "%s as of %s: %d messages (%d events)\n", res.Server, res.AsOf.Format(time.RFC3339), res.Messages, res.Events)
				for _, st := range message.Statuses {
					fmt.Fprintf(c.stdout(), "  %-10s %d\n", st, res.Statuses[string(st)])
				}
				return nil
			}
			// Hours are UTC; an hour counts in the zone's day that holds its start.
			rep, err := s.app.Queries.Stats(c.ctx, s.op, ref.String(), platform.StatsRequest{From: fromT, To: toT, Zone: zone, ByHour: by == "hour", TopDomains: top})
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.stdout(), rep)
			}
			return printReport(c.stdout(), rep)
		}}
}

func printReport(w io.Writer, rep platform.StatsReport) error {
	fmt.Fprintf(w, "%s from %s to %s, by %s (%s)\n", rep.Server, rep.From.Format(time.RFC3339), rep.To.Format(time.RFC3339), rep.By, rep.Zone)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "START\tQUEUED\tDELIVERED\tDEFERRED\tBOUNCED\tHARD\tSOFT\tHELD\tEXPIRED\tBOUNCE%\tP50 ms\tP99 ms\t")
	line := func(label string, c platform.StatsCounts) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%.1f\t%d\t%d\t\n", label, c.Queued, c.Delivered, c.Deferred, c.Bounced,
			c.BouncedHard, c.BouncedSoft, c.Held, c.Expired, 100*c.BounceRate, c.LatencyMS["p50"], c.LatencyMS["p99"])
	}
	layout := "2006-01-02"
	if rep.By == "hour" {
		layout = "2006-01-02T15:04Z07:00"
	}
	for _, b := range rep.Buckets {
		line(b.Start.Format(layout), b.StatsCounts)
	}
	line("total", rep.Total)
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(rep.Total.BounceReasons) > 0 {
		var rs []string
		for r, n := range rep.Total.BounceReasons {
			rs = append(rs, fmt.Sprintf("%s=%d", r, n))
		}
		sort.Strings(rs)
		fmt.Fprintf(w, "bounce reasons: %s\n", strings.Join(rs, " "))
	}
	if len(rep.TopDomains) > 0 {
		fmt.Fprintln(w, "top recipient domains:")
		for _, d := range rep.TopDomains {
			fmt.Fprintf(w, "  %-30s queued %d delivered %d deferred %d bounced %d expired %d\n", d.Domain, d.Queued, d.Delivered, d.Deferred, d.Bounced, d.Expired)
		}
	}
	return nil
}
