package cli

import "github.com/posthaste/posthaste/domain/tenancy"

// serverJSON is a server as `server create|update --json` print it.
type serverJSON struct {
	ID               string `json:"id"`
	Org              string `json:"org"`
	Name             string `json:"name"`
	Mode             string `json:"mode"`
	SendLimitPerHour int    `json:"send_limit_per_hour"`
	RetentionDays    int    `json:"retention_days"`
}

func toServerJSON(s tenancy.Server) serverJSON {
	return serverJSON{ID: s.ID, Org: s.OrgName, Name: s.Name, Mode: s.Mode, SendLimitPerHour: s.SendLimitPerHour, RetentionDays: s.RetentionDays}
}
