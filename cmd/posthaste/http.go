package main

import (
	"context"
	"fmt"
	"strings"
)

// backendPing checks that one backend answers (mariadb, sqlite, rabbitmq, redis): /readyz
// (adapters/httpapi, as platform.Probe) and status ping them.
type backendPing struct {
	name string
	ping func(ctx context.Context) error
}

// checkBackends pings every backend concurrently and returns "name: error" for each failure,
// in the order given.
func checkBackends(ctx context.Context, pings []backendPing) []string {
	errs := make([]error, len(pings))
	done := make(chan struct{}, len(pings))
	for i, p := range pings {
		go func() {
			defer func() {
				if r := recover(); r != nil {
					errs[i] = fmt.Errorf("panic: %v", r)
				}
				done <- struct{}{}
			}()
			errs[i] = p.ping(ctx)
		}()
	}
	for range pings {
		<-done
	}
	var failed []string
	for i, err := range errs {
		if err != nil {
			failed = append(failed, pings[i].name+": "+strings.ReplaceAll(err.Error(), "\n", "; "))
		}
	}
	return failed
}
