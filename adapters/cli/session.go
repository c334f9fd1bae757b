package cli

import (
	"errors"
	"os/user"

	"github.com/posthaste/posthaste/domain/platform"
	"github.com/posthaste/posthaste/events"
)

// session is an opened application and the caller admin commands act as.
type session struct {
	app   *platform.Application
	op    platform.Caller // cli:<OS user>
	close func() error
}

func (s *session) Close() {
	if s.close != nil {
		_ = s.close()
	}
}

// open opens the platform with the configuration flags of the command line. Close it.
func (c *call) open() (*session, error) {
	s, err := c.d.Open(c.ctx, c.values())
	if err != nil {
		return nil, err
	}
	if s == nil || s.App == nil {
		return nil, errNoApplication
	}
	return &session{app: s.App, op: platform.Operator(c.actor()), close: s.Close}, nil
}

var errNoApplication = errors.New("cli: open returned no application")

// actor is who admin commands are recorded as: cli:<OS user>.
func (c *call) actor() events.Actor {
	return events.Actor{Type: events.ActorCLI, ID: osUser(c.d.Getenv)}
}

// osUser is the OS user running the command ($USER when the system does not say).
func osUser(getenv func(string) string) string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if v := getenv("USER"); v != "" {
		return v
	}
	return "unknown"
}
