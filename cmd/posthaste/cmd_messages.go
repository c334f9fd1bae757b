package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/message"
	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections/messageview"
	"github.com/posthaste/posthaste/projections/stats"
)

// The read side from the command line: message listings and detail (the message view), and
// delivery analytics (the stats projection); --as-of answers from the event log itself.

func init() {
	register(command{path: "messages", usage: "--server ORG/NAME [--status S] [--query Q] [--limit N] [--cursor C] [--oldest] [--json]",
		summary: "list a server's messages (query: to: from: status: tag: msgid: subject: before: after: words)", run: runMessages})
	register(command{path: "message show", usage: "ID [--as-of T] [--json]",
		summary: "a message's envelope, headers, timeline and attempts with SMTP transcripts", run: runMessageShow})
	register(command{path: "stats", usage: "--server ORG/NAME [--from T] [--to T] [--tz ZONE] [--by day|hour] [--as-of T] [--json]",
		summary: "delivery analytics per day or hour; --as-of counts message states from the log", run: runStats})
}

// serverExists reports whether the server's stream has been created.
func serverExists(ctx context.Context, st *Store, id string) (bool, error) {
	recs, err := st.Events.ReadStream(ctx, events.StreamServer, id, 1)
	if err != nil {
		return false, fmt.Errorf("read server %s: %w", id, err)
	}
	return len(recs) > 0, nil
}

func runMessages(ctx context.Context, cio cliIO, args []string) error {
	fs := newFlagSet("messages", true)
	server := fs.String("server", "", "the server, ORG/NAME")
	status := fs.String("status", "", "only this status (comma list): "+strings.Join(messageview.Statuses, ", "))
	query := fs.String("query", "", `search: to:ADDR|@DOMAIN from: status: tag: msgid: subject:"…" before:T after:T words`)
	limit := fs.Int("limit", 50, "messages per page (1..1000)")
	cursor := fs.String("cursor", "", "continue after the page that printed this cursor")
	oldest := fs.Bool("oldest", false, "oldest first (default newest first)")
	asJSON := fs.Bool("json", false, `one JSON object {"messages": […], "next_cursor": …}`)
	cfg, pos, err := loadCommandConfig(fs, args, cio)
	if err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	ref, err := serverFlag(*server)
	if err != nil {
		return err
	}
	if *limit < 1 || *limit > 1000 {
		return usagef("--limit must be 1..1000")
	}
	q, err := messageview.ParseQuery(*query)
	if err != nil {
		return usagef("--query: %v", err)
	}
	if *status != "" {
		sq, err := messageview.ParseQuery("status:" + strings.Join(splitList(*status), " status:"))
		if err != nil {
			return usagef("--status: %v", err)
		}
		q.Status = append(q.Status, sq.Status...)
	}
	req := messageview.ListRequest{Server: ref.ID(), Query: q, Limit: *limit, Oldest: *oldest}
	if *cursor != "" {
		c, err := messageview.DecodeCursor(*cursor)
		if err != nil {
			return usagef("--cursor: %v", err)
		}
		req.After = &c
	}
	st, err := openStore(ctx, cfg, newLogger(cfg, cio.stderr))
	if err != nil {
		return err
	}
	defer st.Close()
	if ok, err := serverExists(ctx, st, ref.ID()); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("server %s not found", ref)
	}
	r, err := messageview.NewReader(st.DB.SQL)
	if err != nil {
		return err
	}
	page, err := r.List(ctx, req)
	if err != nil {
		return err
	}
	var next *string
	if page.Next != nil {
		s := page.Next.Encode()
		next = &s
	}
	if *asJSON {
		if page.Messages == nil {
			page.Messages = []messageview.Message{}
		}
		return writeJSON(cio.stdout, struct {
			Messages []messageview.Message `json:"messages"`
			Next     *string               `json:"next_cursor"`
		}{page.Messages, next})
	}
	tw := tabwriter.NewWriter(cio.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "QUEUED\tID\tSTATUS\tTO\tFROM\tSUBJECT\tATTEMPTS\tLAST REPLY")
	for _, m := range page.Messages {
		reply := m.LastReply
		if m.Status == "bounced" {
			reply = m.BounceClass + " " + m.BounceReason + ": " + reply
		}
		if m.Status == "held" {
			reply = "held: " + m.HoldReason
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", m.QueuedAt.Format(time.RFC3339), m.ID, m.Status, m.RcptTo, m.MailFrom,
			clip(m.Subject, 40), m.Attempts, clip(reply, 60))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if next != nil {
		_, err = fmt.Fprintf(cio.stdout, "more: --cursor %s\n", *next)
	}
	return err
}

func clip(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// showJSON is `message show --json`: the view's row, its timeline, and each attempt with its
// SMTP transcript.
type showJSON struct {
	messageview.Message
	Source   string              `json:"source"` // view, or log (as of a time, or not yet projected)
	AsOf     *time.Time          `json:"as_of,omitempty"`
	Timeline []messageview.Event `json:"timeline"`
	Attempts []attemptJSON       `json:"attempt_log"`
}

type attemptJSON struct {
	messageview.Attempt
	Transcript string `json:"transcript"`
}

func runMessageShow(ctx context.Context, cio cliIO, args []string) error {
	fs := newFlagSet("message show", true)
	asOf := fs.String("as-of", "", "the message as it stood at this time (RFC 3339, date or relative), from the event log")
	asJSON := fs.Bool("json", false, "one JSON object")
	cfg, pos, err := loadCommandConfig(fs, args, cio)
	if err != nil {
		return err
	}
	id, err := oneArg(pos, "ID")
	if err != nil {
		return err
	}
	var at time.Time
	if *asOf != "" {
		if at, err = parseAnyTime(*asOf, time.Now()); err != nil {
			return usagef("--as-of: %v", err)
		}
	}
	st, err := openStore(ctx, cfg, newLogger(cfg, cio.stderr))
	if err != nil {
		return err
	}
	defer st.Close()
	var d messageview.Detail
	source := "view"
	if at.IsZero() {
		r, err := messageview.NewReader(st.DB.SQL)
		if err != nil {
			return err
		}
		d, err = r.Get(ctx, id)
		switch {
		case errors.Is(err, messageview.ErrNotFound):
			source = "log" // not projected yet (serve not running, or lagging): read the stream
		case err != nil:
			return err
		}
	} else {
		source = "log"
	}
	if source == "log" {
		if d, err = detailFromLog(ctx, st.Events, id, at); err != nil {
			return err
		}
	}
	out := showJSON{Message: d.Message, Source: source, Timeline: d.Timeline, Attempts: []attemptJSON{}}
	if !at.IsZero() {
		out.AsOf = &at
	}
	if out.Timeline == nil {
		out.Timeline = []messageview.Event{}
	}
	for _, a := range d.AttemptLog {
		aj := attemptJSON{Attempt: a}
		if a.TranscriptID != "" && st.Messages != nil {
			if tr, err := st.Messages.Transcript(ctx, a.TranscriptID); err == nil {
				aj.Transcript = tr
			} else {
				aj.Transcript = "(transcript unavailable: " + err.Error() + ")"
			}
		}
		out.Attempts = append(out.Attempts, aj)
	}
	if *asJSON {
		return writeJSON(cio.stdout, out)
	}
	return printShow(cio.stdout, out)
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
	row("attempts", fmt.Sprint(m.Message.Attempts))
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
		fmt.Fprintf(w, "\nattempt %d at %s: %s%s, %d ms: %d %s %s\n", a.Attempt.Attempt, a.At.Format(time.RFC3339Nano),
			a.Result, via, a.DurationMS, a.ReplyCode, a.EnhancedCode, a.ReplyText)
		if a.Transcript != "" {
			for _, l := range strings.Split(strings.TrimRight(a.Transcript, "\r\n"), "\n") {
				fmt.Fprintf(w, "  | %s\n", strings.TrimRight(l, "\r"))
			}
		}
	}
	return nil
}

// detailFromLog builds a message's detail from its stream, up to asOf (all of it when zero),
// with message.Load deciding its state: the same answer the view gives, from the source of truth.
func detailFromLog(ctx context.Context, es domain.EventStore, id string, asOf time.Time) (messageview.Detail, error) {
	var d messageview.Detail
	recs, err := es.ReadStream(ctx, events.StreamMessage, id, 1)
	if err != nil {
		return d, fmt.Errorf("read message %s: %w", id, err)
	}
	if !asOf.IsZero() {
		n := 0
		for n < len(recs) && !recs[n].Envelope.OccurredAt.Truncate(time.Microsecond).After(asOf) { // the read side keeps microseconds
			n++
		}
		recs = recs[:n]
	}
	if len(recs) == 0 {
		if asOf.IsZero() {
			return d, fmt.Errorf("message %s not found", id)
		}
		return d, fmt.Errorf("message %s did not exist at %s", id, asOf.Format(time.RFC3339))
	}
	m, err := message.Load(recs)
	if err != nil {
		return d, fmt.Errorf("load message %s: %w", id, err)
	}
	q := m.Queued
	d.Message = messageview.Message{ID: m.ID, Server: m.ServerID, Status: string(m.Status), RcptTo: strings.ToLower(q.RcptTo),
		MailFrom: strings.ToLower(q.MailFrom), HeaderFrom: q.HeaderFrom, Subject: q.Subject, Tag: q.Tag,
		MessageID: messageview.NormalizeMsgID(q.MessageID), Size: q.Size, SubmissionID: q.SubmissionID, QueuedAt: m.QueuedAt.UTC(),
		LastEventAt: recs[len(recs)-1].Envelope.OccurredAt.UTC(), Attempts: m.Attempts, HoldReason: m.HoldReason}
	if m.Status != message.StatusHeld {
		d.HoldReason = ""
	}
	if a := m.LastAttempt; a != nil {
		d.LastReplyCode = a.ReplyCode
		d.LastReply = strings.TrimSpace(fmt.Sprintf("%d %s %s", a.ReplyCode, a.EnhancedCode, a.ReplyText))
	}
	if b := m.Bounce; b != nil {
		d.BounceReason, d.BounceClass = b.Reason, b.Class
	}
	for _, r := range recs {
		e := r.Envelope
		d.Timeline = append(d.Timeline, messageview.Event{Version: e.StreamVersion, ID: e.ID, Type: e.Type,
			OccurredAt: e.OccurredAt.UTC(), Actor: e.Actor.String(), Payload: e.Payload})
		if e.Type == (events.MessageAttempted{}).EventType() {
			ev, err := events.Decode(e)
			if err != nil {
				return d, err
			}
			a := ev.(*events.MessageAttempted)
			d.AttemptLog = append(d.AttemptLog, messageview.Attempt{Attempt: a.Attempt, At: e.OccurredAt.UTC(), MXHost: a.MXHost, IP: a.IP,
				TLSVersion: a.TLSVersion, TLSCipher: a.TLSCipher, ReplyCode: a.ReplyCode, EnhancedCode: a.EnhancedCode,
				ReplyText: a.ReplyText, DurationMS: a.DurationMS, TranscriptID: a.TranscriptID, Result: a.Result})
		}
	}
	return d, nil
}

// parseAnyTime reads RFC 3339, a date (midnight UTC) or a time relative to now (-2h).
func parseAnyTime(v string, now time.Time) (time.Time, error) {
	if t, err := messageview.ParseTime(v); err == nil {
		return t, nil
	}
	t, err := parseTimeArg(v, now)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither RFC 3339, a date (2026-11-24) nor relative (-2h)", v)
	}
	return t, nil
}

// asOfJSON is `stats --as-of`: how many of the server's messages stood in each state at a time.
type asOfJSON struct {
	Server   string           `json:"server"`
	AsOf     time.Time        `json:"as_of"`
	Messages int              `json:"messages"`
	Statuses map[string]int64 `json:"statuses"`
	Events   int              `json:"events"`
}

func runStats(ctx context.Context, cio cliIO, args []string) error {
	fs := newFlagSet("stats", true)
	server := fs.String("server", "", "the server, ORG/NAME")
	from := fs.String("from", "-168h", "from (RFC 3339, date or relative)")
	to := fs.String("to", "", "to, exclusive (default now)")
	tz := fs.String("tz", "UTC", "time zone of the day buckets (IANA name, e.g. Europe/Berlin)")
	by := fs.String("by", "day", "bucket: day or hour")
	top := fs.Int("top", 10, "how many recipient domains to list")
	asOf := fs.String("as-of", "", "count message states as they stood at this time, from the event log")
	asJSON := fs.Bool("json", false, "one JSON object")
	cfg, pos, err := loadCommandConfig(fs, args, cio)
	if err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	ref, err := serverFlag(*server)
	if err != nil {
		return err
	}
	now := time.Now()
	zone, err := time.LoadLocation(*tz)
	if err != nil {
		return usagef("--tz: unknown time zone %q", *tz)
	}
	if *by != "day" && *by != "hour" {
		return usagef("--by: want day or hour")
	}
	var fromT, toT, asOfT time.Time
	if fromT, err = parseAnyTime(*from, now); err != nil {
		return usagef("--from: %v", err)
	}
	toT = now
	if *to != "" {
		if toT, err = parseAnyTime(*to, now); err != nil {
			return usagef("--to: %v", err)
		}
	}
	if *asOf != "" {
		if asOfT, err = parseAnyTime(*asOf, now); err != nil {
			return usagef("--as-of: %v", err)
		}
	}
	st, err := openStore(ctx, cfg, newLogger(cfg, cio.stderr))
	if err != nil {
		return err
	}
	defer st.Close()
	if ok, err := serverExists(ctx, st, ref.ID()); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("server %s not found", ref)
	}
	if !asOfT.IsZero() {
		res, err := statesAsOf(ctx, st.Events, ref.ID(), asOfT)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(cio.stdout, res)
		}
		fmt.Fprintf(cio.stdout, "%s as of %s: %d messages (%d events)\n", res.Server, res.AsOf.Format(time.RFC3339), res.Messages, res.Events)
		for _, s := range messageview.Statuses {
			fmt.Fprintf(cio.stdout, "  %-10s %d\n", s, res.Statuses[s])
		}
		return nil
	}
	// Hours are UTC; an hour counts in the zone's day that holds its start.
	rep, err := stats.BuildReport(ctx, st.DB.SQL, stats.ReportRequest{Server: ref.ID(), From: fromT, To: toT, Zone: zone,
		ByHour: *by == "hour", TopDomains: *top})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(cio.stdout, rep)
	}
	return printReport(cio.stdout, rep)
}

func printReport(w io.Writer, rep stats.Report) error {
	fmt.Fprintf(w, "%s from %s to %s, by %s (%s)\n", rep.Server, rep.From.Format(time.RFC3339), rep.To.Format(time.RFC3339), rep.By, rep.Zone)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "START\tQUEUED\tDELIVERED\tDEFERRED\tBOUNCED\tHARD\tSOFT\tHELD\tEXPIRED\tBOUNCE%\tP50 ms\tP99 ms\t")
	line := func(label string, c stats.Counts) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%.1f\t%d\t%d\t\n", label, c.Queued, c.Delivered, c.Deferred, c.Bounced,
			c.BouncedHard, c.BouncedSoft, c.Held, c.Expired, 100*c.BounceRate, c.LatencyMS["p50"], c.LatencyMS["p99"])
	}
	layout := "2006-01-02"
	if rep.By == "hour" {
		layout = "2006-01-02T15:04Z07:00"
	}
	for _, b := range rep.Buckets {
		line(b.Start.Format(layout), b.Counts)
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

// statesAsOf folds every message stream of a server, up to asOf, with message.Load.
func statesAsOf(ctx context.Context, es domain.EventStore, server string, asOf time.Time) (asOfJSON, error) {
	res := asOfJSON{Server: server, AsOf: asOf.UTC(), Statuses: map[string]int64{}}
	for _, s := range messageview.Statuses {
		res.Statuses[s] = 0
	}
	streams := map[string][]events.Record{}
	f := domain.EventFilter{ServerID: server, Until: asOf.Add(time.Nanosecond), Limit: eventsPage}
	var last int64
	for {
		f.After = last
		recs, err := es.Query(ctx, f)
		if err != nil {
			return res, fmt.Errorf("query events: %w", err)
		}
		stop := len(recs) < eventsPage
		for _, r := range recs {
			if r.Position == 0 {
				stop = true
			} else {
				last = r.Position
			}
			if r.Envelope.StreamType == events.StreamMessage {
				streams[r.Envelope.StreamID] = append(streams[r.Envelope.StreamID], r)
			}
		}
		if stop {
			break
		}
	}
	for id, recs := range streams {
		sort.Slice(recs, func(i, j int) bool { return recs[i].Envelope.StreamVersion < recs[j].Envelope.StreamVersion })
		m, err := message.Load(recs)
		if err != nil {
			return res, fmt.Errorf("load message %s: %w", id, err)
		}
		res.Statuses[string(m.Status)]++
		res.Messages++
		res.Events += len(recs)
	}
	return res, nil
}
