package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/posthaste/posthaste/domain/message"
	"github.com/posthaste/posthaste/domain/platform"
	"github.com/posthaste/posthaste/projections/messageview"
)

// messagesCommand is `posthaste messages --server ORG/NAME`: one page of a server's messages from
// the message view, newest first.
func messagesCommand() *spec {
	var (
		server, status, query, cursor string
		limit                         int
		oldest, asJSON                bool
	)
	statuses := make([]string, len(message.Statuses))
	for i, s := range message.Statuses {
		statuses[i] = string(s)
	}
	return &spec{path: "messages", synopsis: "--server ORG/NAME [--status S] [--query Q] [--limit N] [--cursor C] [--oldest] [--json]",
		summary: "list a server's messages (query: to: from: status: tag: msgid: subject: before: after: words)", config: true,
		flags: func(f *pflag.FlagSet) {
			f.StringVar(&server, "server", "", "the server, ORG/NAME")
			f.StringVar(&status, "status", "", "only this status (comma list): "+strings.Join(statuses, ", "))
			f.StringVar(&query, "query", "", `search: to:ADDR|@DOMAIN from: status: tag: msgid: subject:"…" before:T after:T words`)
			f.IntVar(&limit, "limit", 50, "messages per page (1..1000)")
			f.StringVar(&cursor, "cursor", "", "continue after the page that printed this cursor")
			f.BoolVar(&oldest, "oldest", false, "oldest first (default newest first)")
			f.BoolVar(&asJSON, "json", false, `one JSON object {"messages": […], "next_cursor": …}`)
		},
		run: func(c *call) error {
			if err := c.noArgs(); err != nil {
				return err
			}
			ref, err := serverFlag(server)
			if err != nil {
				return err
			}
			if limit < 1 || limit > 1000 {
				return usagef("--limit must be 1..1000")
			}
			// The query is checked here so that a mistake is a usage error; the view runs it.
			if _, err := messageview.ParseQuery(query); err != nil {
				return usagef("--query: %v", err)
			}
			mq := platform.MessageQuery{Query: query, Limit: limit, Cursor: cursor, Oldest: oldest}
			if status != "" {
				terms := "status:" + strings.Join(splitList(status), " status:")
				if _, err := messageview.ParseQuery(terms); err != nil {
					return usagef("--status: %v", err)
				}
				mq.Query = strings.TrimSpace(mq.Query + " " + terms) // the status terms join the query's
			}
			if cursor != "" {
				if _, err := messageview.DecodeCursor(cursor); err != nil {
					return usagef("--cursor: %v", err)
				}
			}
			s, err := c.open()
			if err != nil {
				return err
			}
			defer s.Close()
			page, err := s.app.Queries.Messages(c.ctx, s.op, ref.String(), mq)
			if err != nil {
				return err
			}
			var next *string
			if page.Next != "" {
				next = &page.Next
			}
			if asJSON {
				ms := make([]messageJSON, 0, len(page.Messages))
				for _, m := range page.Messages {
					ms = append(ms, toMessageJSON(m))
				}
				return writeJSON(c.stdout(), struct {
					Messages []messageJSON `json:"messages"`
					Next     *string       `json:"next_cursor"`
				}{ms, next})
			}
			tw := tabwriter.NewWriter(c.stdout(), 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "QUEUED\tID\tSTATUS\tTO\tFROM\tSUBJECT\tATTEMPTS\tLAST REPLY")
			for _, m := range page.Messages {
				reply := m.LastReply
				if m.Status == message.StatusBounced {
					reply = m.BounceClass + " " + m.BounceReason + ": " + reply
				}
				if m.Status == message.StatusHeld {
					reply = "held: " + m.HoldReason
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", m.QueuedAt.Format(time.RFC3339), m.ID, m.Status, m.RcptTo, m.MailFrom,
					clip(m.Subject, 40), m.Attempts, clip(reply, 60))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if next != nil {
				_, err = fmt.Fprintf(c.stdout(), "more: --cursor %s\n", *next)
			}
			return err
		}}
}
