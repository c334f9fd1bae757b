package cli

import "fmt"

// migrateCommand is `posthaste migrate`.
func migrateCommand() *spec {
	return &spec{path: "migrate", summary: "apply the schema migrations", config: true,
		run: func(c *call) error {
			if err := c.noArgs(); err != nil {
				return err
			}
			dialect, err := c.d.Migrate(c.ctx, c.values())
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(c.stdout(), "migrated the %s database\n", dialect)
			return err
		}}
}
