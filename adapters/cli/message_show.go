package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/posthaste/posthaste/domain/platform"
)

// messageShow is `posthaste message show ID`: the message view's detail (the log's while the view
// has not caught up), or with --as-of the message as it stood then, from the log.
func messageShow() *spec {
	var (
		asOf   string
		asJSON bool
	)
	return &spec{path: "message show", synopsis: "ID [--as-of T] [--json]",
		summary: "a message's envelope, headers, timeline and attempts with SMTP transcripts", config: true,
		flags: func(f *pflag.FlagSet) {
			f.StringVar(&asOf, "as-of", "", "the message as it stood at this time (RFC 3339, date or relative), from the event log")
			f.BoolVar(&asJSON, "json", false, "one JSON object")
		},
		run: func(c *call) error {
			id, err := c.oneArg("ID")
			if err != nil {
				return err
			}
			var at time.Time
			if asOf != "" {
				if at, err = parseAnyTime(asOf, time.Now()); err != nil {
					return usagef("--as-of: %v", err)
				}
			}
			s, err := c.open()
			if err != nil {
				return err
			}
			defer s.Close()
			d, err := s.app.Queries.MessageDetail(c.ctx, s.op, id, at)
			if err != nil {
				return err
			}
			out := toShowJSON(d)
			if asJSON {
				return writeJSON(c.stdout(), out)
			}
			return printShow(c.stdout(), out)
		}}
}

func toShowJSON(d platform.MessageShow) showJSON {
	out := showJSON{messageJSON: toMessageJSON(d.Summary), Source: d.Source, Timeline: []timelineJSON{}, Attempts: []attemptJSON{}}
	if !d.AsOf.IsZero() {
		at := d.AsOf
		out.AsOf = &at
	}
	for _, e := range d.Timeline {
		out.Timeline = append(out.Timeline, timelineJSON{Version: e.Version, ID: e.EventID, Type: e.Type, OccurredAt: e.OccurredAt, Actor: e.Actor, Payload: e.Payload})
	}
	for i, a := range d.Attempts {
		aj := attemptJSON{Attempt: a.Attempt, At: a.At, MXHost: a.MXHost, IP: a.IP, TLSVersion: a.TLSVersion, TLSCipher: a.TLSCipher,
			ReplyCode: a.ReplyCode, EnhancedCode: a.EnhancedCode, ReplyText: a.ReplyText, DurationMS: a.DurationMS, TranscriptID: a.TranscriptID,
			Result: a.Result}
		if i < len(d.Transcripts) {
			if t := d.Transcripts[i]; t.Unavailable != nil {
				aj.Transcript = "(transcript unavailable: " + t.Unavailable.Error() + ")"
			} else {
				aj.Transcript = t.Text
			}
		}
		out.Attempts = append(out.Attempts, aj)
	}
	return out
}

func printShow(w io.Writer, m showJSON) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s\t%s\n", k, v)
		}
	}
	row("id", m.ID)
	if m.AsOf != nil {
		row("as of", m.AsOf.Format(time.RFC3339Nano)+" (from the event log)")
	}
	row("server", m.Server)
	row("status", m.Status)
	row("held", m.HoldReason)
	if m.BounceReason != "" || m.BounceClass != "" {
		row("bounce", m.BounceClass+" "+m.BounceReason)
	}
	row("mail from", m.MailFrom)
	row("rcpt to", m.RcptTo)
	row("From", m.HeaderFrom)
	row("Subject", m.Subject)
	row("Message-ID", m.MessageID)
	row("tag", m.Tag)
	row("size", fmt.Sprintf("%d bytes", m.Size))
	row("queued", m.QueuedAt.Format(time.RFC3339Nano))
	row("attempts", fmt.Sprint(m.messageJSON.Attempts))
	row("last reply", m.LastReply)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\ntimeline:")
	for _, e := range m.Timeline {
		fmt.Fprintf(w, "  %s  %-24s %-14s %s\n", e.OccurredAt.Format(time.RFC3339Nano), e.Type, e.Actor, string(e.Payload))
	}
	for _, a := range m.Attempts {
		var via string
		if a.MXHost != "" || a.IP != "" {
			via = fmt.Sprintf(" via %s [%s]", a.MXHost, a.IP)
		}
		if a.TLSVersion != "" {
			via += " " + strings.TrimSpace("TLS "+a.TLSVersion+" "+a.TLSCipher)
		} else if a.IP != "" {
			via += " without TLS"
		}
		fmt.Fprintf(w, "\nattempt %d at %s: %s%s, %d ms: %d %s %s\n", a.Attempt, a.At.Format(time.RFC3339Nano),
			a.Result, via, a.DurationMS, a.ReplyCode, a.EnhancedCode, a.ReplyText)
		if a.Transcript != "" {
			for _, l := range strings.Split(strings.TrimRight(a.Transcript, "\r\n"), "\n") {
				fmt.Fprintf(w, "  | %s\n", strings.TrimRight(l, "\r"))
			}
		}
	}
	return nil
}
