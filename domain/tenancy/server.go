package tenancy

import (
	"fmt"
	"time"

	"github.com/posthaste/posthaste/events"
)

// Server modes.
const (
	ModeLive        = "live"
	ModeDevelopment = "development" // every message is held
)

// DefaultRetentionDays is how long a server keeps messages unless configured (stored now,
// enforced by the retention issue).
const DefaultRetentionDays = 30

// Server is a mail server of an organization: the tenant of messages, domains and credentials.
type Server struct {
	ID               string // "org/name", lowercase: stream id and envelope server_id
	OrgID            string
	OrgName          string
	Name             string
	Mode             string
	SendLimitPerHour int // 0 = unlimited
	RetentionDays    int
	SuppressOnHard   bool
	SuppressOnSpam   bool
	CreatedAt        time.Time
}

// Exists reports whether the server stream had its creation event.
func (s *Server) Exists() bool { return s.ID != "" }

func (s *Server) apply(env events.Envelope, ev events.Event) {
	switch e := ev.(type) {
	case *events.ServerCreated:
		*s = Server{ID: env.StreamID, OrgID: e.OrgID, OrgName: e.OrgName, Name: e.Name, Mode: e.Mode,
			SendLimitPerHour: e.SendLimitPerHour, RetentionDays: e.RetentionDays,
			SuppressOnHard: DefaultSuppressOnHard, SuppressOnSpam: DefaultSuppressOnComplaint, CreatedAt: env.OccurredAt}
	case *events.ServerUpdated:
		if e.Mode != nil {
			s.Mode = *e.Mode
		}
		if e.SendLimitPerHour != nil {
			s.SendLimitPerHour = *e.SendLimitPerHour
		}
		if e.RetentionDays != nil {
			s.RetentionDays = *e.RetentionDays
		}
		if e.SuppressOnHard != nil {
			s.SuppressOnHard = *e.SuppressOnHard
		}
		if e.SuppressOnSpam != nil {
			s.SuppressOnSpam = *e.SuppressOnSpam
		}
	}
}

func validateServerSettings(mode string, sendLimit, retentionDays int) error {
	if mode != ModeLive && mode != ModeDevelopment {
		return fmt.Errorf("%w: mode %q (want live or development)", ErrInvalid, mode)
	}
	if sendLimit < 0 {
		return fmt.Errorf("%w: send limit %d is negative (0 means unlimited)", ErrInvalid, sendLimit)
	}
	if retentionDays < 1 {
		return fmt.Errorf("%w: retention %d days (at least 1)", ErrInvalid, retentionDays)
	}
	return nil
}

// decideCreateServer validates a new server of an existing org.
func decideCreateServer(org Org, ref ServerRef, mode string, sendLimit, retentionDays int) ([]events.Event, error) {
	if !org.Exists() {
		return nil, fmt.Errorf("organization %q %w", ref.Org, ErrNotFound)
	}
	if mode == "" {
		mode = ModeLive
	}
	if retentionDays == 0 {
		retentionDays = DefaultRetentionDays
	}
	if err := validateServerSettings(mode, sendLimit, retentionDays); err != nil {
		return nil, err
	}
	return []events.Event{events.ServerCreated{OrgID: org.ID, OrgName: org.Name, Name: ref.Name, Mode: mode,
		SendLimitPerHour: sendLimit, RetentionDays: retentionDays}}, nil
}
