// Command posthaste is the Posthaste binary: flags, configuration and wiring only.
// Business rules live in domain/, read models in projections/, the outside world in adapters/;
// the commands are adapters/cli's.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/posthaste/posthaste/adapters/cli"
)

// version is set at build time: go build -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Execute(ctx, os.Args[1:], cli.Deps{
		Settings: settings(),
		Open:     openSession,
		Migrate:  migrateStore,
		Serve:    serve,
		DKIM:     dkimVerifier,
		Version:  version,
		Stdin:    os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		Getenv: os.Getenv,
	})
	stop()
	os.Exit(code)
}
