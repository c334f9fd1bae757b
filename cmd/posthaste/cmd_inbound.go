package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/posthaste/posthaste/domain/inbound"
)

// The operator's view of what the MX listener received: every stored report, with what the
// intake made of it (linked, unlinked, malformed, autoreply, pending).

func init() {
	register(command{path: "bounce reports", usage: "[--status linked|unlinked|malformed|autoreply|pending] [--limit N] [--json]",
		summary: "list the reports received by the MX listener, newest first", run: runBounceReports})
	register(command{path: "bounce show", usage: "ID [--raw] [--json]",
		summary: "show one received report: envelope, outcome per recipient (--raw: the message as received)", run: runBounceShow})
}

// reportJSON is one line of `bounce reports --json` and the object of `bounce show --json`.
type reportJSON struct {
	ID          string           `json:"id"`
	ReceivedAt  time.Time        `json:"received_at"`
	MailFrom    string           `json:"mail_from"`
	RcptTo      []string         `json:"rcpt_to"`
	ClientIP    string           `json:"client_ip,omitempty"`
	TLS         bool             `json:"tls"`
	Size        int64            `json:"size"`
	Status      string           `json:"status"`
	Kind        string           `json:"kind,omitempty"`
	MessageID   string           `json:"message_id,omitempty"`
	ProcessedAt *time.Time       `json:"processed_at,omitempty"`
	Summary     *inbound.Summary `json:"summary,omitempty"`
	Raw         *string          `json:"raw,omitempty"`
}

func toReportJSON(r inbound.Report, withSummary bool) reportJSON {
	out := reportJSON{ID: r.ID, ReceivedAt: r.ReceivedAt, MailFrom: r.MailFrom, RcptTo: r.RcptTo, ClientIP: r.ClientIP,
		TLS: r.TLS, Size: r.Size, Status: r.Status, Kind: r.Kind, MessageID: r.MessageID}
	if out.RcptTo == nil {
		out.RcptTo = []string{}
	}
	if !r.ProcessedAt.IsZero() {
		t := r.ProcessedAt
		out.ProcessedAt = &t
	}
	if withSummary && r.Summary != "" {
		var s inbound.Summary
		if json.Unmarshal([]byte(r.Summary), &s) == nil {
			out.Summary = &s
		}
	}
	return out
}

func runBounceReports(ctx context.Context, cio cliIO, args []string) error {
	fs := newFlagSet("bounce reports", true)
	status := fs.String("status", "", "only reports with this status: "+strings.Join(inbound.Statuses, ", "))
	limit := fs.Int("limit", 100, "at most this many reports")
	asJSON := fs.Bool("json", false, "JSON lines")
	cfg, pos, err := loadCommandConfig(fs, args, cio)
	if err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	if *status != "" && !slices.Contains(inbound.Statuses, *status) {
		return usagef("--status %q: want one of %s", *status, strings.Join(inbound.Statuses, ", "))
	}
	if *limit < 1 {
		return usagef("--limit must be at least 1")
	}
	st, err := openStore(ctx, cfg, newLogger(cfg, cio.stderr))
	if err != nil {
		return err
	}
	defer st.Close()
	rs, err := st.Inbound.Reports(ctx, inbound.Filter{Status: *status, Limit: *limit})
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(cio.stdout)
		enc.SetEscapeHTML(false)
		for _, r := range rs {
			if err := enc.Encode(toReportJSON(r, false)); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(cio.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tRECEIVED\tSTATUS\tKIND\tMESSAGE\tRCPT TO\tSIZE")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", r.ID, r.ReceivedAt.Format(time.RFC3339), r.Status, orDash(r.Kind),
			orDash(r.MessageID), orDash(strings.Join(r.RcptTo, ",")), r.Size)
	}
	return tw.Flush()
}

func runBounceShow(ctx context.Context, cio cliIO, args []string) error {
	fs := newFlagSet("bounce show", true)
	raw := fs.Bool("raw", false, "print the message exactly as received, nothing else")
	asJSON := fs.Bool("json", false, "one JSON object (with the raw message as a string)")
	cfg, pos, err := loadCommandConfig(fs, args, cio)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want exactly one report ID")
	}
	st, err := openStore(ctx, cfg, newLogger(cfg, cio.stderr))
	if err != nil {
		return err
	}
	defer st.Close()
	r, err := st.Inbound.Report(ctx, pos[0])
	if err != nil {
		return err
	}
	if *raw {
		_, err := cio.stdout.Write(r.Raw)
		return err
	}
	out := toReportJSON(r, true)
	if *asJSON {
		s := string(r.Raw)
		out.Raw = &s
		enc := json.NewEncoder(cio.stdout)
		enc.SetEscapeHTML(false)
		return enc.Encode(out)
	}
	w := cio.stdout
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
	fmt.Fprintf(w, "raw         posthaste bounce show %s --raw\n", r.ID)
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
