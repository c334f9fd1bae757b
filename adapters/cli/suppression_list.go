package cli

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"
)

type suppressionJSON struct {
	Server    string     `json:"server"`
	Address   string     `json:"address"`
	Reason    string     `json:"reason"`
	CausedBy  string     `json:"caused_by_event,omitempty"`
	AddedAt   time.Time  `json:"added_at"`
	ExpiresAt *time.Time `json:"expires_at"`
	Active    bool       `json:"active"`
}

// suppressionList is `posthaste suppression list --server ORG/NAME`.
func suppressionList() *spec {
	var (
		server      string
		all, asJSON bool
	)
	return &spec{path: "suppression list", synopsis: "--server ORG/NAME [--all] [--json]", summary: "list suppressed recipients", config: true,
		flags: func(f *pflag.FlagSet) {
			f.StringVar(&server, "server", "", "the server, ORG/NAME")
			f.BoolVar(&all, "all", false, "include removed and expired entries")
			f.BoolVar(&asJSON, "json", false, "print JSON lines")
		},
		run: func(c *call) error {
			ref, err := serverFlag(server)
			if err != nil {
				return err
			}
			if err := c.noArgs(); err != nil {
				return err
			}
			s, err := c.open()
			if err != nil {
				return err
			}
			defer s.Close()
			list, err := s.app.Queries.Suppressions(c.ctx, s.op, ref.String(), all)
			if err != nil {
				return err
			}
			now := time.Now()
			for _, e := range list {
				if asJSON {
					if err := writeJSON(c.stdout(), suppressionJSON{Server: e.ServerID, Address: e.Address, Reason: e.Reason,
						CausedBy: e.CausedBy, AddedAt: e.AddedAt.UTC(), ExpiresAt: e.ExpiresAt, Active: e.ActiveAt(now)}); err != nil {
						return err
					}
					continue
				}
				exp := "never"
				if e.ExpiresAt != nil {
					exp = e.ExpiresAt.UTC().Format(time.RFC3339)
				}
				fmt.Fprintf(c.stdout(), "%-40s %-12s added %s expires %s\n", e.Address, e.Reason, e.AddedAt.UTC().Format(time.RFC3339), exp)
			}
			return nil
		}}
}
