package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/tenancy"
	"github.com/posthaste/posthaste/events"
)

func init() {
	register(command{path: "events",
		usage:   "[--message ID] [--recipient ADDR] [--server ORG/NAME|ID] [--type T[,T…]] [--actor TYPE[:ID]] [--since T] [--until T] [--follow] [--json]",
		summary: "print the audit trail (times: RFC 3339 or relative like -2h)", run: runEvents})
}

// followPoll is how often --follow asks the store for new positions.
const followPoll = 250 * time.Millisecond

// eventsPage is how many events one store query returns.
const eventsPage = 1000

func runEvents(ctx context.Context, cio cliIO, args []string) error {
	fs := newFlagSet("events", true)
	message := fs.String("message", "", "only the events of this message id (its stream)")
	server := fs.String("server", "", "only the events of this server: ORG/NAME or server id")
	types := fs.String("type", "", "only these event types (comma list)")
	since := fs.String("since", "", "occurred at or after: RFC 3339 or relative (-2h)")
	until := fs.String("until", "", "occurred before: RFC 3339 or relative (-30m)")
	recipient := fs.String("recipient", "", "only the events of the messages to this address")
	actor := fs.String("actor", "", "only events by this actor: TYPE or TYPE:ID (cli:root, smtp, system:hold-expiry)")
	follow := fs.Bool("follow", false, "keep printing new events as they are positioned")
	asJSON := fs.Bool("json", false, "JSON lines: {position, …envelope}")
	cfg, pos, err := loadCommandConfig(fs, args, cio)
	if err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	now := time.Now()
	f := domain.EventFilter{Limit: eventsPage}
	if *message != "" {
		f.StreamType, f.StreamID = events.StreamMessage, *message
	}
	if *server != "" {
		f.ServerID = serverID(*server)
	}
	f.Types = splitList(*types)
	if *actor != "" {
		f.ActorType, f.ActorID, _ = strings.Cut(*actor, ":")
	}
	if *recipient != "" && *message != "" {
		return usagef("give --message or --recipient, not both")
	}
	if f.Since, err = parseTimeArg(*since, now); err != nil {
		return usagef("--since: %v", err)
	}
	if f.Until, err = parseTimeArg(*until, now); err != nil {
		return usagef("--until: %v", err)
	}
	st, err := openStore(ctx, cfg, newLogger(cfg, cio.stderr))
	if err != nil {
		return err
	}
	defer st.Close()
	print := func(r events.Record) error { return printRecord(cio.stdout, r, *asJSON) }
	if *recipient != "" {
		return recipientEvents(ctx, st, f, *recipient, *follow, print)
	}

	// The listing: positioned events page by page; events not yet positioned (the relay has not
	// stamped them) come last, with no position.
	var last int64
	for {
		f.After = last
		recs, err := st.Events.Query(ctx, f)
		if err != nil {
			return fmt.Errorf("query events: %w", err)
		}
		// Positioned events come first: a page holding an unpositioned one, or a short page, is
		// the last.
		var unpositioned []events.Record
		for _, r := range recs {
			if r.Position == 0 {
				unpositioned = append(unpositioned, r)
				continue
			}
			last = r.Position
			if err := print(r); err != nil {
				return err
			}
		}
		if len(recs) < eventsPage || len(unpositioned) > 0 {
			if !*follow { // --follow prints them once positioned
				for _, r := range unpositioned {
					if err := print(r); err != nil {
						return err
					}
				}
			}
			break
		}
	}
	if !*follow {
		return nil
	}
	// Follow: ReadAll by position is gap-free in commit order, so nothing is skipped.
	match := matcher(f)
	for {
		recs, err := st.Events.ReadAll(ctx, last, eventsPage)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("follow events: %w", err)
		}
		for _, r := range recs {
			last = r.Position
			if match(r.Envelope) {
				if err := print(r); err != nil {
					return err
				}
			}
		}
		if len(recs) == eventsPage {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(followPoll):
		}
	}
}

// serverID maps --server to the tenant id of the envelopes: ORG/NAME is resolved like the
// tenancy commands do (lowercase org/name); anything else is taken as a server id.
func serverID(v string) string {
	if ref, err := tenancy.ParseServerRef(v); err == nil {
		return ref.ID()
	}
	return v
}

// matcher applies f to envelopes read by position (--follow), as Query does in the store.
func matcher(f domain.EventFilter) func(events.Envelope) bool {
	return func(e events.Envelope) bool {
		if f.StreamType != "" && (e.StreamType != f.StreamType || e.StreamID != f.StreamID) {
			return false
		}
		if f.ServerID != "" && e.Server() != f.ServerID {
			return false
		}
		if f.ActorType != "" && e.Actor.Type != f.ActorType || f.ActorID != "" && e.Actor.ID != f.ActorID {
			return false
		}
		if len(f.Types) > 0 {
			ok := false
			for _, t := range f.Types {
				ok = ok || t == e.Type
			}
			if !ok {
				return false
			}
		}
		if !f.Since.IsZero() && e.OccurredAt.Before(f.Since) {
			return false
		}
		if !f.Until.IsZero() && !e.OccurredAt.Before(f.Until) {
			return false
		}
		return true
	}
}

// parseTimeArg reads RFC 3339 (with or without fractions) or a duration relative to now
// ("-2h" two hours ago, "30m" thirty minutes ahead). Empty means no bound.
func parseTimeArg(v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC(), nil
	}
	if d, err := time.ParseDuration(v); err == nil {
		return now.Add(d).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q is neither RFC 3339 (2026-11-24T10:00:00Z) nor relative (-2h)", v)
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
