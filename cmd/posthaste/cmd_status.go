package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

func init() {
	register(command{path: "status", usage: "[--json]",
		summary: "backends reachable, relay lag, projection lag, dead letters", run: runStatus})
}

// runStatus prints the platform's state. It fails (exit 1) when a backend does not answer or
// part of the state cannot be read, after printing what it could.
func runStatus(ctx context.Context, cio cliIO, args []string) error {
	fs := newFlagSet("status", true)
	asJSON := fs.Bool("json", false, "one JSON object")
	_, pos, err := loadCommandConfig(fs, args, cio)
	if err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	sess, caller, err := oldSession(ctx, fs, cio)
	if err != nil {
		return err
	}
	defer sess.Close()
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	st, err := sess.App.Queries.Status(ctx, caller)
	if err != nil {
		return err
	}
	if *asJSON {
		if err := writeJSON(cio.stdout, st); err != nil {
			return err
		}
	} else {
		w := cio.stdout
		fmt.Fprintf(w, "backend: %s\n", st.Backend)
		for _, b := range st.Backends {
			state := "ok"
			if !b.OK {
				state = "FAILED: " + b.Error
			}
			fmt.Fprintf(w, "  %-10s %s\n", b.Name, state)
		}
		fmt.Fprintf(w, "head position: %d\nrelay lag: %d events in the outbox\n", st.Head, st.RelayLag)
		fmt.Fprintf(w, "dead letters: %d recorded, %d on the bus\nprojections:\n", st.DeadLetters, st.BusDeadLetters)
		for _, ps := range st.Projections {
			fmt.Fprintf(w, "  %-16s applied %d, lag %d, dead letters %d (bus %d)\n", ps.Projection, ps.Applied, ps.Lag, ps.DeadLetters, ps.BusDeadLetters)
		}
		for _, e := range st.Errors {
			fmt.Fprintf(w, "error: %s\n", e)
		}
	}
	if !st.OK() {
		var failed []string
		for _, b := range st.Backends {
			if !b.OK {
				failed = append(failed, b.Name)
			}
		}
		return errors.New("unhealthy: " + strings.Join(append(failed, st.Errors...), "; "))
	}
	return nil
}
