package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/posthaste/posthaste/domain/tenancy"
)

func init() {
	register(command{path: "server create", usage: "ORG/NAME [--mode live|development] [--send-limit N] [--retention-days N] [--json]",
		summary: "create a mail server in an organization", run: runServerCreate})
	register(command{path: "server update", usage: "ORG/NAME [--mode live|development] [--send-limit N] [--retention-days N] [--json]",
		summary: "change a server's settings", run: runServerUpdate})
}

func toServerJSON(s tenancy.Server) serverJSON {
	return serverJSON{ID: s.ID, Org: s.OrgName, Name: s.Name, Mode: s.Mode, SendLimitPerHour: s.SendLimitPerHour, RetentionDays: s.RetentionDays}
}

func runServerUpdate(ctx context.Context, cio cliIO, args []string) error {
	fs := newFlagSet("server update", true)
	mode := fs.String("mode", "", "live, or development (every message is held)")
	limit := fs.Int("send-limit", 0, "messages per rolling hour; 0 = unlimited")
	retention := fs.Int("retention-days", 0, "days messages are kept")
	asJSON := fs.Bool("json", false, "print the server as JSON")
	env, arg, err := openTenancyArg(ctx, fs, args, cio, false, "ORG/NAME")
	if err != nil {
		return err
	}
	defer env.Close()
	ref, err := tenancy.ParseServerRef(arg)
	if err != nil {
		return err
	}
	c := tenancy.UpdateServer{Ref: ref, Actor: env.actor}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "mode":
			c.Mode = mode
		case "send-limit":
			c.SendLimitPerHour = limit
		case "retention-days":
			c.RetentionDays = retention
		}
	})
	if c.Mode == nil && c.SendLimitPerHour == nil && c.RetentionDays == nil {
		return usagef("nothing to change: give --mode, --send-limit or --retention-days")
	}
	s, changed, err := env.h.UpdateServer(ctx, c)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(cio.stdout, toServerJSON(s))
	}
	_, err = fmt.Fprintf(cio.stdout, "%s server %s/%s (mode %s, send limit %d/hour (0 = unlimited), retention %d days)\n", updatedVerb(changed), s.OrgName, s.Name, s.Mode, s.SendLimitPerHour, s.RetentionDays)
	return err
}

type serverJSON struct {
	ID               string `json:"id"`
	Org              string `json:"org"`
	Name             string `json:"name"`
	Mode             string `json:"mode"`
	SendLimitPerHour int    `json:"send_limit_per_hour"`
	RetentionDays    int    `json:"retention_days"`
}

func runServerCreate(ctx context.Context, cio cliIO, args []string) error {
	fs := newFlagSet("server create", true)
	mode := fs.String("mode", tenancy.ModeLive, "live, or development (every message is held)")
	limit := fs.Int("send-limit", 0, "messages per rolling hour; 0 = unlimited")
	retention := fs.Int("retention-days", tenancy.DefaultRetentionDays, "days messages are kept")
	asJSON := fs.Bool("json", false, "print the server as JSON")
	env, arg, err := openTenancyArg(ctx, fs, args, cio, false, "ORG/NAME")
	if err != nil {
		return err
	}
	defer env.Close()
	ref, err := tenancy.ParseServerRef(arg)
	if err != nil {
		return err
	}
	s, err := env.h.CreateServer(ctx, tenancy.CreateServer{Ref: ref, Mode: *mode, SendLimitPerHour: *limit, RetentionDays: *retention, Actor: env.actor})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(cio.stdout, toServerJSON(s))
	}
	lim := "unlimited"
	if s.SendLimitPerHour > 0 {
		lim = fmt.Sprintf("%d/hour", s.SendLimitPerHour)
	}
	_, err = fmt.Fprintf(cio.stdout, "created server %s/%s (mode %s, send limit %s, retention %d days)\n", s.OrgName, s.Name, s.Mode, lim, s.RetentionDays)
	return err
}
