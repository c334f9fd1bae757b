package bounce

import (
	"encoding/json"
	"strings"
)

// sesNotice is the part of an Amazon SES notification (delivered by SNS as e-mail) that
// matters here.
type sesNotice struct {
	NotificationType string `json:"notificationType"`
	EventType        string `json:"eventType"` // the same notice from a configuration set
	Bounce           struct {
		BounceType        string `json:"bounceType"`
		ReportingMTA      string `json:"reportingMTA"`
		BouncedRecipients []struct {
			EmailAddress   string `json:"emailAddress"`
			Action         string `json:"action"`
			Status         string `json:"status"`
			DiagnosticCode string `json:"diagnosticCode"`
		} `json:"bouncedRecipients"`
	} `json:"bounce"`
	Complaint struct {
		ComplainedRecipients []struct {
			EmailAddress string `json:"emailAddress"`
		} `json:"complainedRecipients"`
		ComplaintFeedbackType string `json:"complaintFeedbackType"`
	} `json:"complaint"`
	Delivery struct {
		Recipients   []string `json:"recipients"`
		SMTPResponse string   `json:"smtpResponse"`
		ReportingMTA string   `json:"reportingMTA"`
	} `json:"delivery"`
	Mail struct {
		MessageID string `json:"messageId"`
	} `json:"mail"`
}

// sesJSON reads an Amazon SES bounce, complaint or delivery notification.
func (p *parser) sesJSON() (Report, bool) {
	all := strings.Join(p.texts, "\n")
	i := strings.Index(all, `{"notificationType"`)
	if i < 0 {
		i = strings.Index(all, `{"eventType"`)
	}
	if i < 0 {
		return Report{}, false
	}
	s := all[i:]
	s = strings.ReplaceAll(s, "!\n ", "") // SNS folds long lines with "!" + newline + space
	j := strings.LastIndexByte(s, '}')
	if j < 0 {
		return Report{}, false
	}
	var n sesNotice
	if err := json.Unmarshal([]byte(s[:j+1]), &n); err != nil {
		dec := json.NewDecoder(strings.NewReader(s))
		if err := dec.Decode(&n); err != nil {
			return Report{}, false
		}
	}
	if n.NotificationType == "" {
		n.NotificationType = n.EventType
	}
	switch n.NotificationType {
	case "Bounce":
		rep := Report{Kind: KindDSN, ReportingMTA: stripType(n.Bounce.ReportingMTA)}
		for _, b := range n.Bounce.BouncedRecipients {
			r := Recipient{Address: firstAddress(b.EmailAddress), Action: strings.ToLower(b.Action),
				Status: normStatus(b.Status), Diagnostic: stripType(b.DiagnosticCode)}
			if r.Address == "" {
				continue
			}
			p.finish(&r, r.Diagnostic, "")
			rep.Recipients = append(rep.Recipients, r)
		}
		return rep, len(rep.Recipients) > 0
	case "Complaint":
		rep := Report{Kind: KindFeedback, FeedbackType: n.Complaint.ComplaintFeedbackType}
		for _, c := range n.Complaint.ComplainedRecipients {
			rep.Recipients = append(rep.Recipients, Recipient{Address: firstAddress(c.EmailAddress), Reason: Feedback, Class: None})
		}
		return rep, len(rep.Recipients) > 0
	case "Delivery":
		rep := Report{Kind: KindNone, ReportingMTA: n.Delivery.ReportingMTA}
		for _, a := range n.Delivery.Recipients {
			c := ClassifyReply(Reply{Text: n.Delivery.SMTPResponse})
			rep.Recipients = append(rep.Recipients, Recipient{Address: firstAddress(a), Action: "delivered",
				Status: c.Status, ReplyCode: findReplyCode(n.Delivery.SMTPResponse),
				Diagnostic: n.Delivery.SMTPResponse, Reason: Delivered, Class: None})
		}
		return rep, len(rep.Recipients) > 0
	}
	return Report{}, false
}
