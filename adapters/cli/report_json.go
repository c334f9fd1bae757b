package cli

import (
	"encoding/json"
	"time"

	"github.com/posthaste/posthaste/domain/inbound"
)

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
