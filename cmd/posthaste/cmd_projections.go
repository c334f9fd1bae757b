package main

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/posthaste/posthaste/projections"
)

func init() {
	register(command{path: "replay", usage: "NAME…|--all [--json]", summary: "rebuild projections from the event log", run: runReplay})
	register(command{path: "projections checksum", usage: "[NAME…] [--json]",
		summary: "hash every row of each projection's tables (equal after a replay)", run: runChecksum})
	register(command{path: "projections list", usage: "[--json]", summary: "list the projections", run: runProjectionsList})
}

// selectProjections returns the named projections, or all of them when all is set or (with
// emptyMeansAll) when no name is given. Unknown names are a usage error.
func selectProjections(names []string, all, emptyMeansAll bool) ([]projections.Projection, error) {
	known := platformProjections()
	if all || (emptyMeansAll && len(names) == 0) {
		if all && len(names) > 0 {
			return nil, usagef("give projection names or --all, not both")
		}
		return known, nil
	}
	if len(names) == 0 {
		return nil, usagef("name the projections to replay, or --all")
	}
	byName := map[string]projections.Projection{}
	var valid []string
	for _, p := range known {
		byName[p.Name()] = p
		valid = append(valid, p.Name())
	}
	sort.Strings(valid)
	var out []projections.Projection
	for _, n := range names {
		p, ok := byName[n]
		if !ok {
			return nil, usagef("unknown projection %q (known: %s)", n, strings.Join(valid, ", "))
		}
		out = append(out, p)
	}
	return out, nil
}

func runReplay(ctx context.Context, cio cliIO, args []string) error {
	fs := newFlagSet("replay", true)
	all := fs.Bool("all", false, "replay every projection")
	asJSON := fs.Bool("json", false, "JSON lines")
	_, pos, err := loadCommandConfig(fs, args, cio)
	if err != nil {
		return err
	}
	projs, err := selectProjections(pos, *all, false)
	if err != nil {
		return err
	}
	sess, caller, err := oldSession(ctx, fs, cio)
	if err != nil {
		return err
	}
	defer sess.Close()
	// One read of the log for all of them; each is swapped in as soon as all are built.
	results, err := sess.App.Commands.Replay(ctx, caller, projectionNamesOf(projs))
	for _, res := range results {
		if *asJSON {
			if err := writeJSON(cio.stdout, res); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(cio.stdout, "%s: replayed %d events (applied %d, dead letters %d) up to position %d\n",
			res.Projection, res.Events, res.Applied, res.DeadLetters, res.Position)
	}
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	return nil
}

func runChecksum(ctx context.Context, cio cliIO, args []string) error {
	fs := newFlagSet("projections checksum", true)
	asJSON := fs.Bool("json", false, "JSON lines")
	_, pos, err := loadCommandConfig(fs, args, cio)
	if err != nil {
		return err
	}
	projs, err := selectProjections(pos, false, true)
	if err != nil {
		return err
	}
	sess, caller, err := oldSession(ctx, fs, cio)
	if err != nil {
		return err
	}
	defer sess.Close()
	sums, err := sess.App.Queries.Checksum(ctx, caller, projectionNamesOf(projs))
	for _, sum := range sums {
		if *asJSON {
			if err := writeJSON(cio.stdout, sum); err != nil {
				return err
			}
			continue
		}
		rows := int64(0)
		for _, t := range sum.Tables {
			rows += t.Rows
		}
		fmt.Fprintf(cio.stdout, "%s\t%s\t%d rows\n", sum.Projection, sum.SHA256, rows)
	}
	return err
}

// projectionNamesOf names projs, in order.
func projectionNamesOf(projs []projections.Projection) []string {
	out := make([]string, len(projs))
	for i, p := range projs {
		out[i] = p.Name()
	}
	return out
}

func runProjectionsList(_ context.Context, cio cliIO, args []string) error {
	fs := newFlagSet("projections list", false)
	asJSON := fs.Bool("json", false, "JSON lines")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	for _, p := range platformProjections() {
		if *asJSON {
			if err := writeJSON(cio.stdout, map[string]any{"name": p.Name(), "tables": p.Tables()}); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(cio.stdout, "%s\t%s\n", p.Name(), strings.Join(p.Tables(), ","))
	}
	return nil
}
