package main

import (
	"context"
	"fmt"

	"github.com/posthaste/posthaste/adapters/cli"
)

// old CLI: goes when the cli branch lands (its serve and migrate commands call serve and
// migrateStore of wire.go as these do).

func init() {
	register(command{path: "serve", usage: "[--roles smtp,worker,relay,projector,web,webhooks,mx]",
		summary: "run the platform (all roles by default)", run: runServe})
	register(command{path: "migrate", usage: "", summary: "apply the schema migrations", run: runMigrate})
}

func runMigrate(ctx context.Context, cio cliIO, args []string) error {
	fs := newFlagSet("migrate", true)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	dialect, err := migrateStore(ctx, cli.Values(flagValues(fs)))
	if err != nil {
		return err
	}
	fmt.Fprintf(cio.stdout, "migrated the %s database\n", dialect)
	return nil
}

func runServe(ctx context.Context, _ cliIO, args []string) error {
	fs := newFlagSet("serve", true)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	return serve(ctx, cli.Values(flagValues(fs)))
}
