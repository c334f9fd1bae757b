package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// userList is `posthaste user list`.
func userList() *spec {
	var asJSON bool
	return &spec{path: "user list", synopsis: "[--json]", summary: "list users", config: true,
		flags: func(f *pflag.FlagSet) { f.BoolVar(&asJSON, "json", false, "print one JSON object per line") },
		run: func(c *call) error {
			if err := c.noArgs(); err != nil {
				return err
			}
			s, err := c.open()
			if err != nil {
				return err
			}
			defer s.Close()
			users, err := s.app.Queries.Users(c.ctx, s.op)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSONLines(c.stdout(), users, toUserJSON)
			}
			tw := newTable(c.stdout())
			fmt.Fprintln(tw, "EMAIL\tADMIN\tORGANIZATIONS\tCREATED")
			for _, u := range users {
				var orgs []string
				for _, id := range u.OrgIDs() {
					orgs = append(orgs, id+" ("+u.Orgs[id]+")")
				}
				fmt.Fprintf(tw, "%s\t%v\t%s\t%s\n", u.Email, u.Admin, strings.Join(orgs, ", "), u.CreatedAt.UTC().Format(time.RFC3339))
			}
			return tw.Flush()
		}}
}
