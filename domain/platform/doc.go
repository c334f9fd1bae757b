// Package platform is Posthaste's application layer: the one place where every command and query
// of the platform is composed, once, from the domain handlers (tenancy, submission, sendpolicy,
// message, suppression, webhook, delivery, inbound, relay) and the ports they need. Every edge
// (SMTP submission, the MX listener, the CLI, both HTTP APIs, the web UI) calls it:
//
//	app, err := platform.New(platform.Deps{...})   // refuses missing ports, listing them all
//	app.Commands.CreateCredential(ctx, caller, ...) // state changes
//	app.Queries.Messages(ctx, caller, ...)          // reads
//	app.Workflows.Delivery.Run(ctx)                 // the long-running work of the roles
//
// It owns three rules no edge may decide for itself:
//   - Authorisation: every command and query that touches a server or an organization takes a
//     Caller (an operator, a server's credential, a web UI user) and acts only within its scope.
//     Anything outside it answers exactly the NotFoundError a missing thing answers.
//   - Freshness: reads that must see the caller's own writes take a read model's rows, then the
//     log tail past that model's horizon (freshness.go); credentials are found by key (one row,
//     the credential's stream), never by scanning every credential.
//   - Waking: after every acceptance (and every release of a hold) it tells the local delivery
//     workers which messages became due, and after every append it wakes the in-process relay
//     (OnAccepted, notify.go): one path, whatever the edge.
//
// It imports domain packages, events and the standard library only. It performs no I/O of its
// own: everything goes through the ports of Deps. Edges must not call the domain handlers'
// constructors (tenancy.NewHandlers, submission.NewHandler, ...): the dependency test
// (cmd/posthaste/arch_platform_test.go) checks it.
package platform
