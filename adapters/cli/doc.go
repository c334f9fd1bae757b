// Package cli is the operator's command line: every `posthaste` command (the admin commands,
// migrate, serve, status, the tools), one command per file, on spf13/cobra.
//
// It owns the command tree, flag parsing, help, shell completion and man pages, and how each
// command prints its answer (text, or --json: one object for a single thing, JSON lines for lists
// and streams), its errors (one line on stderr, "posthaste CMD: message") and its exit status (0
// ok, 1 failure, 2 usage).
//
// It must not compose the domain or touch storage: every command gets a Session from Deps.Open
// and calls the application (domain/platform) as platform.Operator(cli:<OS user>); serve,
// migrate and dkim verify go through their own Deps functions. The binary (cmd/posthaste) wires
// it: the configuration table (Deps.Settings) and the four functions.
package cli
