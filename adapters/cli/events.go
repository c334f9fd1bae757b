package cli

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/platform"
	"github.com/posthaste/posthaste/domain/tenancy"
	"github.com/posthaste/posthaste/events"
)

// followPoll is how often --follow asks the log for new positions.
const followPoll = 250 * time.Millisecond

// eventsPage is how many events one read of the log returns.
const eventsPage = 1000

// eventsCommand is `posthaste events`: the audit trail, positioned events in position order,
// then those not yet positioned; --follow keeps printing events as they are positioned.
func eventsCommand() *spec {
	var (
		message, server, types, since, until, recipient, actor string
		follow, asJSON                                         bool
	)
	return &spec{path: "events",
		synopsis: "[--message ID] [--recipient ADDR] [--server ORG/NAME|ID] [--type T[,T…]] [--actor TYPE[:ID]] [--since T] [--until T] [--follow] [--json]",
		summary:  "print the audit trail (times: RFC 3339 or relative like -2h)", config: true,
		flags: func(f *pflag.FlagSet) {
			f.StringVar(&message, "message", "", "only the events of this message id (its stream)")
			f.StringVar(&server, "server", "", "only the events of this server: ORG/NAME or server id")
			f.StringVar(&types, "type", "", "only these event types (comma list)")
			f.StringVar(&since, "since", "", "occurred at or after: RFC 3339 or relative (-2h)")
			f.StringVar(&until, "until", "", "occurred before: RFC 3339 or relative (-30m)")
			f.StringVar(&recipient, "recipient", "", "only the events of the messages to this address")
			f.StringVar(&actor, "actor", "", "only events by this actor: TYPE or TYPE:ID (cli:root, smtp, system:hold-expiry)")
			f.BoolVar(&follow, "follow", false, "keep printing new events as they are positioned")
			f.BoolVar(&asJSON, "json", false, "JSON lines: {position, …envelope}")
		},
		run: func(c *call) error {
			if err := c.noArgs(); err != nil {
				return err
			}
			now := time.Now()
			f := domain.EventFilter{Limit: eventsPage}
			if message != "" {
				f.StreamType, f.StreamID = events.StreamMessage, message
			}
			if server != "" {
				f.ServerID = serverID(server)
			}
			f.Types = splitList(types)
			if actor != "" {
				f.ActorType, f.ActorID, _ = strings.Cut(actor, ":")
			}
			if recipient != "" && message != "" {
				return usagef("give --message or --recipient, not both")
			}
			var err error
			if f.Since, err = parseTimeArg(since, now); err != nil {
				return usagef("--since: %v", err)
			}
			if f.Until, err = parseTimeArg(until, now); err != nil {
				return usagef("--until: %v", err)
			}
			s, err := c.open()
			if err != nil {
				return err
			}
			defer s.Close()
			print := func(r events.Record) error { return printRecord(c.stdout(), r, asJSON) }
			if recipient != "" {
				return recipientEvents(c, s, f, recipient, follow, print)
			}
			last, err := listEvents(c, s, f, follow, print)
			if err != nil || !follow {
				return err
			}
			return followEvents(c, s.app.Queries.FollowEvents(s.op, f, last), print)
		}}
}

// listEvents prints the events matching f page by page, positioned ones first; those not yet
// positioned (the relay has not stamped them) come last, with no position, unless following
// (then they are printed once positioned). It returns the last position printed.
func listEvents(c *call, s *session, f domain.EventFilter, follow bool, print func(events.Record) error) (int64, error) {
	var last int64
	for {
		f.After = last
		recs, err := s.app.Queries.AuditTrail(c.ctx, s.op, f)
		if err != nil {
			return last, err
		}
		var unpositioned []events.Record
		for _, r := range recs {
			if r.Position == 0 {
				unpositioned = append(unpositioned, r)
				continue
			}
			last = r.Position
			if err := print(r); err != nil {
				return last, err
			}
		}
		// A page holding an unpositioned event, or a short page, is the last.
		if len(recs) < eventsPage || len(unpositioned) > 0 {
			if !follow {
				for _, r := range unpositioned {
					if err := print(r); err != nil {
						return last, err
					}
				}
			}
			return last, nil
		}
	}
}

// recipientEvents prints the events matching f of every message to rcpt, positioned ones in
// position order, then any not yet positioned; with follow it keeps printing new events of those
// messages, and of messages queued to rcpt later.
func recipientEvents(c *call, s *session, f domain.EventFilter, rcpt string, follow bool, print func(events.Record) error) error {
	recs, ids, err := s.app.Queries.RecipientEvents(c.ctx, s.op, rcpt, f)
	if err != nil {
		return err
	}
	var last int64
	for _, r := range recs {
		if follow && r.Position == 0 {
			continue // printed once positioned
		}
		last = max(last, r.Position)
		if err := print(r); err != nil {
			return err
		}
	}
	if !follow {
		return nil
	}
	if last == 0 { // nothing printed yet: follow from the head of the log
		if last, err = s.app.Queries.Head(c.ctx, s.op); err != nil {
			return err
		}
	}
	return followEvents(c, s.app.Queries.FollowRecipient(s.op, rcpt, f, ids, last), print)
}

// followEvents prints what the follower keeps until the command's context ends.
func followEvents(c *call, w *platform.EventFollower, print func(events.Record) error) error {
	for {
		recs, full, err := w.Next(c.ctx, eventsPage)
		if err != nil {
			if c.ctx.Err() != nil {
				return nil
			}
			return err
		}
		for _, r := range recs {
			if err := print(r); err != nil {
				return err
			}
		}
		if full {
			continue
		}
		select {
		case <-c.ctx.Done():
			return nil
		case <-time.After(followPoll):
		}
	}
}

// serverID maps --server to the tenant id of the envelopes: ORG/NAME as the tenancy commands
// read it (lower case); anything else is taken as a server id.
func serverID(v string) string {
	if ref, err := tenancy.ParseServerRef(v); err == nil {
		return ref.ID()
	}
	return v
}

// printRecord writes one event: a JSON line {"position": N, …the stored envelope} (position
// null when not yet assigned), or a text line.
func printRecord(w io.Writer, r events.Record, asJSON bool) error {
	if asJSON {
		b, err := events.Marshal(r.Envelope)
		if err != nil {
			return err
		}
		pos := "null"
		if r.Position > 0 {
			pos = strconv.FormatInt(r.Position, 10)
		}
		var buf bytes.Buffer
		buf.WriteString(`{"position":`)
		buf.WriteString(pos)
		if len(b) > 2 {
			buf.WriteByte(',')
		}
		buf.Write(b[1:])
		buf.WriteByte('\n')
		_, err = w.Write(buf.Bytes())
		return err
	}
	e := r.Envelope
	pos := "-"
	if r.Position > 0 {
		pos = strconv.FormatInt(r.Position, 10)
	}
	server := e.Server()
	if server == "" {
		server = "-"
	}
	_, err := fmt.Fprintf(w, "%s\t%s\t%s\t%s/%s@%d\tserver=%s\tactor=%s\t%s\n", pos, e.OccurredAt.UTC().Format(time.RFC3339Nano),
		e.Type, e.StreamType, e.StreamID, e.StreamVersion, server, e.Actor, strings.TrimSpace(string(e.Payload)))
	return err
}
