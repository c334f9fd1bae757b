package cli

// serveCommand is `posthaste serve`: the platform's roles, until SIGTERM or SIGINT.
func serveCommand() *spec {
	return &spec{path: "serve", synopsis: "[--roles smtp,worker,relay,projector,web,webhooks,mx]",
		summary: "run the platform (all roles by default)", config: true,
		run: func(c *call) error {
			if err := c.noArgs(); err != nil {
				return err
			}
			return c.d.Serve(c.ctx, c.values())
		}}
}
