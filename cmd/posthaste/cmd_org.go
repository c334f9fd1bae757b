package main

import (
	"context"
	"fmt"
	"time"

	"github.com/posthaste/posthaste/domain/tenancy"
)

func init() {
	register(command{path: "org create", usage: "NAME [--json]", summary: "create an organization", run: runOrgCreate})
}

type orgJSON struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

func runOrgCreate(ctx context.Context, cio cliIO, args []string) error {
	fs := newFlagSet("org create", true)
	asJSON := fs.Bool("json", false, "print the organization as JSON")
	env, name, err := openTenancyArg(ctx, fs, args, cio, false, "NAME")
	if err != nil {
		return err
	}
	defer env.Close()
	o, err := env.h.CreateOrg(ctx, tenancy.CreateOrg{Name: name, Actor: env.actor})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(cio.stdout, orgJSON{ID: o.ID, Name: o.Name, CreatedAt: o.CreatedAt.UTC()})
	}
	_, err = fmt.Fprintf(cio.stdout, "created organization %s\n", o.Name)
	return err
}
